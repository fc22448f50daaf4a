// names.js: how the chat screens name people and sum up messages. All of
// it is plain text, for text nodes.

// peerName is a conversation's (or contact's) name: the local nickname,
// else the name the other side chose, else a shortened Account ID.
export function peerName(c, app) {
  return c.name || c.display_name || app.shortID(c.peer || c.id)
}

// previewOf sums a message up in one line.
export function previewOf(m) {
  if (m.text) return m.text
  const a = m.attachments || []
  if (a.length === 1) return 'File: ' + (a[0].file_name || 'attachment')
  if (a.length > 1) return a.length + ' files'
  return ''
}

// isAccountID reports whether text is an Account ID (05 and 64 hex digits).
export function isAccountID(text) {
  return /^05[0-9a-fA-F]{64}$/.test(text)
}
