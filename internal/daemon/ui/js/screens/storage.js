// storage.js: what the home takes on disk, per conversation, with clear
// media (all, or one conversation's), and the backup export: an encrypted
// file the browser downloads (`hush import` restores it).

const AGES = [
  ['0', 'All media'],
  [String(7 * 86400e9), 'Media older than a week'],
  [String(30 * 86400e9), 'Media older than 30 days'],
]

export function mount(el, app) {
  const h = app.h
  const totals = h('div', {}, h('p', { class: 'muted' }, 'Loading…'))
  const perConv = h('div')
  const live = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', id: 'storage-status', tabindex: '-1' })
  const age = h('select', { id: 'clear-age' }, AGES.map(([v, label]) => h('option', { value: v }, label)))
  const clearAll = h('button', { type: 'button', class: 'danger', id: 'clear-all', onclick: () => clear(null, 'every conversation') },
    'Clear media')
  let alive = true
  let names = new Map()

  el.append(
    h('h1', { id: 'title-storage' }, 'Storage'),
    live,
    h('section', { 'aria-labelledby': 'storage-total-title' },
      h('h2', { id: 'storage-total-title' }, 'On this device'), totals),
    h('section', { class: 'card', 'aria-labelledby': 'clear-title' },
      h('h2', { id: 'clear-title' }, 'Clear media'),
      h('p', { class: 'muted' }, 'Deletes the files here. The messages stay; a cleared file can be downloaded again while the file server still has it.'),
      h('label', { for: 'clear-age' }, 'What to clear'), age,
      h('div', { class: 'actions' }, clearAll)),
    h('section', { 'aria-labelledby': 'storage-conv-title' },
      h('h2', { id: 'storage-conv-title' }, 'Per conversation'), perConv),
    backupSection())

  function sum(s) {
    return s.message_bytes + s.media_folder_bytes + s.thumbnail_bytes
  }

  function line(label, value) {
    return [h('dt', {}, label), h('dd', {}, value)]
  }

  function render(s) {
    totals.replaceChildren(h('dl', { class: 'storage-totals' },
      line('Messages', app.formatBytes(s.message_bytes)),
      line('Media files', app.formatBytes(s.media_folder_bytes)),
      line('Thumbnails', app.formatBytes(s.thumbnail_bytes)),
      line('Database on disk', app.formatBytes(s.database_bytes)),
      line('Waiting to be sent', String(s.outbox) + (s.outbox === 1 ? ' request' : ' requests'))))
    const convs = (s.conversations || []).slice().sort((a, b) => (b.media_bytes + b.message_bytes) - (a.media_bytes + a.message_bytes))
    perConv.replaceChildren(convs.length
      ? h('div', { role: 'list', 'aria-label': 'Storage per conversation' }, convs.map((c) => {
        const who = c.name || names.get(c.peer) || app.shortID(c.peer)
        return h('div', { role: 'listitem', class: 'card storage-conv', dataset: { peer: c.peer, mediaBytes: String(c.media_bytes) } },
          h('h3', {}, who),
          h('p', {},
            c.messages + (c.messages === 1 ? ' message, ' : ' messages, ') + app.formatBytes(c.message_bytes) + '; ' +
            c.media_files + (c.media_files === 1 ? ' file, ' : ' files, '),
            h('span', { class: 'media-bytes' }, app.formatBytes(c.media_bytes)),
            c.thumbnails ? '; ' + c.thumbnails + ' thumbnails, ' + app.formatBytes(c.thumbnail_bytes) : ''),
          h('div', { class: 'actions' },
            h('button', { type: 'button', class: 'danger clear-conv', id: 'clear-' + c.peer, disabled: !c.media_files,
              'aria-label': 'Clear the media of ' + who,
              onclick: () => clear(c.peer, who) }, 'Clear media')))
      }))
      : h('p', { class: 'empty' }, 'No conversations yet.'))
    el.dataset.mediaBytes = String(s.media_bytes)
    el.dataset.total = String(sum(s))
    el.dataset.loaded = String(Number(el.dataset.loaded || 0) + 1)
  }

  // Of overlapping loads only the last one started draws (app.newest).
  const reads = app.newest()
  async function load() {
    const fresh = reads()
    try {
      const [s, convs] = await Promise.all([app.api('GET', '/storage'), app.api('GET', '/conversations').catch(() => [])])
      if (!alive || !fresh()) return
      names = new Map(convs.map((c) => [c.peer, c.name || c.display_name]))
      render(s)
    } catch (e) {
      if (alive && fresh()) totals.replaceChildren(h('p', { role: 'alert' }, 'The storage could not be read: ' + (e.message || e)))
    }
  }

  async function clear(peer, who) {
    const body = {}
    if (peer) body.peer = peer
    if (age.value !== '0') body.older_than_ns = Number(age.value)
    try {
      const r = await app.api('POST', '/storage/clear-media', body)
      if (!alive) return
      live.textContent = 'Cleared ' + r.files + (r.files === 1 ? ' file' : ' files') + ' (' + app.formatBytes(r.bytes) + ') of ' + who + '.'
      const focused = document.activeElement && document.activeElement.id
      await load()
      // The list is drawn again; a cleared conversation's button is now
      // disabled, so the outcome takes the focus.
      const again = focused && document.getElementById(focused)
      if (again && !again.disabled) again.focus()
      else if (!el.contains(document.activeElement) || document.activeElement.disabled) live.focus()
    } catch (e) {
      if (alive) app.toast(e.message || String(e), 'error')
    }
  }

  function backupSection() {
    const pass = h('input', { type: 'password', id: 'backup-pass', autocomplete: 'current-password' })
    const bpass = h('input', { type: 'password', id: 'backup-newpass', autocomplete: 'new-password', 'aria-describedby': 'backup-newpass-desc' })
    const bpass2 = h('input', { type: 'password', id: 'backup-newpass2', autocomplete: 'new-password' })
    const status = h('p', { role: 'status', 'aria-live': 'polite', id: 'backup-status' })
    const button = h('button', { type: 'submit', id: 'backup-export' }, 'Export backup')
    const form = h('form', { class: 'card', 'aria-labelledby': 'backup-title', onsubmit: async (ev) => {
      ev.preventDefault()
      if (!bpass.value) { app.toast('Choose a passphrase for the backup.', 'error'); bpass.focus(); return }
      if (bpass.value !== bpass2.value) { app.toast('The two backup passphrases differ.', 'error'); bpass2.focus(); return }
      button.disabled = true
      status.textContent = 'Writing the backup…'
      try {
        const blob = await app.api('POST', '/backup/export', { passphrase: pass.value, backup_passphrase: bpass.value })
        if (!alive) return
        download(blob, 'hush-backup.hushbackup')
        pass.value = bpass.value = bpass2.value = ''
        status.textContent = 'Backup downloaded (' + app.formatBytes(blob.size) + ').'
        el.dataset.exported = String(blob.size)
      } catch (e) {
        if (alive) {
          status.textContent = ''
          app.toast(e.message || String(e), 'error')
        }
      } finally {
        button.disabled = false
      }
    } },
    h('h2', { id: 'backup-title' }, 'Backup'),
    h('p', { class: 'muted' }, 'An encrypted file with your account, contacts and messages (not media files). ' +
      'Keep it somewhere safe; “hush import” restores it on a new home.'),
    h('div', { class: 'field' }, h('label', { for: 'backup-pass' }, 'Your passphrase (this home’s)'), pass),
    h('div', { class: 'field' }, h('label', { for: 'backup-newpass' }, 'A passphrase for the backup'), bpass,
      h('p', { id: 'backup-newpass-desc', class: 'muted' }, 'Needed to restore it; it can differ from your passphrase.')),
    h('div', { class: 'field' }, h('label', { for: 'backup-newpass2' }, 'The backup passphrase again'), bpass2),
    h('div', { class: 'actions' }, button),
    status)
    return form
  }

  // download saves blob as a file through a temporary link (the daemon's
  // answer came through fetch with the CSRF token, which a plain link
  // could not send).
  function download(blob, name) {
    const url = URL.createObjectURL(blob)
    const a = h('a', { href: url, download: name, class: 'hidden' }, name)
    document.body.append(a)
    a.click()
    a.remove()
    setTimeout(() => URL.revokeObjectURL(url), 60000)
  }

  const offs = [app.on('open', () => load()), app.on('transfer', (t) => { if (!t.up && t.done === t.total) load() })]
  load()
  return () => { alive = false; offs.forEach((off) => off()) }
}
