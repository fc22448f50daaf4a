// chats: the accepted conversations, pinned first, then most recent
// first, with unread counts, mute and pin marks and the last message; kept
// current by the event stream. The archived ones are a second view
// (#/chats/archived).
import { peerName, previewOf } from '../names.js'

export function mount(el, app) {
  const h = app.h
  const archived = app.route.arg === 'archived'
  const list = h('ul', { class: 'chat-list', id: 'chat-list', 'aria-label': 'Conversations' })
  const requests = h('p', { id: 'requests-note', hidden: true })
  // Note to self: the conversation with the own Account ID (issue 22).
  const noteLink = h('a', { class: 'button secondary', href: '#/chats', id: 'note-to-self' }, 'Note to self')
  app.api('GET', '/note-to-self').then(n => { noteLink.href = '#/chat/' + encodeURIComponent(n.peer) }).catch(() => {})
  const empty = h('p', { class: 'muted', id: 'chats-empty', hidden: true },
    archived ? 'No archived conversations.' : 'No conversations yet. Start one with someone\'s Account ID.')
  el.append(
    h('div', { class: 'conv-head' },
      h('h1', { id: 'title-chats' }, archived ? 'Archived chats' : 'Chats'),
      h('div', { class: 'actions' },
        h('a', { class: 'button', href: '#/new', id: 'new-chat' }, 'New conversation'),
        h('a', { class: 'button secondary', href: '#/newgroup', id: 'new-group' }, 'New group'),
        noteLink,
        h('a', { class: 'button secondary', href: archived ? '#/chats' : '#/chats/archived', id: 'archived-toggle' },
          archived ? 'Back to chats' : 'Archived chats'))),
    requests, list, empty)

  let timer = 0
  let names = new Map() // Account ID → nickname, for group senders
  let alive = true
  const reload = () => {
    clearTimeout(timer)
    timer = setTimeout(load, 50)
  }
  // Loads overlap (one per burst of events) and may answer out of order:
  // only the last one started draws (app.newest).
  const reads = app.newest()
  async function load() {
    const fresh = reads()
    try {
      const [convs, reqs, contacts] = await Promise.all([app.api('GET', archived ? '/conversations/archived' : '/conversations'), app.api('GET', '/requests'),
        app.api('GET', '/contacts')])
      if (!alive || !fresh()) return
      names = new Map(contacts.filter(c => c.name).map(c => [c.id, c.name]))
      list.replaceChildren(...convs.map(row))
      empty.hidden = convs.length > 0
      requests.hidden = reqs.length === 0
      requests.replaceChildren(h('a', { href: '#/contacts' },
        reqs.length === 1 ? '1 request' : reqs.length + ' requests'))
      el.dataset.loaded = 'true'
    } catch (e) {
      if (alive && fresh()) app.error(e)
    }
  }

  function row(c) {
    const name = peerName(c, app)
    const last = c.last_message
    const unread = c.unread > 0
      ? h('span', { class: 'badge', 'aria-label': c.unread + ' unread' }, String(c.unread))
      : h('span', {})
    // A group's row carries a mark, for the eye and for screen readers.
    const mark = c.group ? [h('span', { class: 'group-mark', 'aria-hidden': 'true', title: 'Group' }, '👥 '), h('span', { class: 'visually-hidden' }, 'Group: ')] : null
    let who = last && last.outgoing ? 'You: ' : ''
    if (c.group && last && !last.outgoing) who = (names.get(last.sender) || app.shortID(last.sender)) + ': '
    const flags = [c.pinned ? ['📌 ', 'Pinned: '] : null, c.muted ? ['🔕 ', 'Muted: '] : null].filter(Boolean)
      .map(([icon, words]) => [h('span', { 'aria-hidden': 'true', class: 'flag-mark' }, icon), h('span', { class: 'visually-hidden' }, words)])
    const data = { peer: c.peer }
    if (c.group) data.group = 'true'
    if (c.pinned) data.pinned = 'true'
    if (c.muted) data.muted = 'true'
    if (c.note_to_self) data.noteToSelf = 'true'
    return h('li', { dataset: data },
      h('a', { href: '#/chat/' + encodeURIComponent(c.peer), class: unread ? 'unread' : '' },
        h('span', { class: 'name' }, flags, mark, name),
        h('span', { class: 'when' }, app.formatTime(c.last_activity)),
        h('span', { class: 'last' }, last ? who + previewOf(last) : ''),
        unread))
  }

  const offs = ['message', 'status', 'unsent', 'request', 'open'].map(k => app.on(k, reload))
  load()
  return () => {
    alive = false
    clearTimeout(timer)
    offs.forEach(off => off())
  }
}
