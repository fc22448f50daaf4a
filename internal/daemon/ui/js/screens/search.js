// search.js: find messages by their text (GET /search), in every chat or
// one. Each result names its chat and links to it, where the message is
// shown. Texts and names are text nodes.
import { peerName } from '../names.js'

export async function mount(el, app) {
  const h = app.h
  let alive = true
  const convs = new Map() // peer → conversation (its name)
  const q = h('input', { type: 'search', id: 'search-q', autocomplete: 'off', spellcheck: 'false', required: true })
  const chat = h('select', { id: 'search-chat' }, h('option', { value: '' }, 'All chats'))
  const status = h('p', { class: 'muted', id: 'search-status', role: 'status', 'aria-live': 'polite' })
  const results = h('ol', { class: 'results', id: 'search-results', 'aria-labelledby': 'search-results-title' })
  el.append(
    h('h1', { id: 'title-search' }, 'Search'),
    h('p', { class: 'muted' }, 'Searches the messages on this device. Texts are kept encrypted on disk; ' +
      'the search reads them in memory and writes no index.'),
    h('form', { class: 'search-form', role: 'search', 'aria-label': 'Messages', onsubmit: run },
      h('div', { class: 'field' }, h('label', { for: 'search-q' }, 'Text'), q),
      h('div', { class: 'field' }, h('label', { for: 'search-chat' }, 'In'), chat),
      h('button', { type: 'submit', id: 'search-go' }, 'Search')),
    status,
    h('h2', { id: 'search-results-title', class: 'visually-hidden' }, 'Results'),
    results)

  // Of searches that overlap, the last one started shows (app.newest).
  const searches = app.newest()
  try {
    const list = await app.api('GET', '/conversations')
    for (const c of list.conversations || list) {
      convs.set(c.peer, c)
      chat.append(h('option', { value: c.peer }, (c.group ? 'Group: ' : '') + peerName(c, app)))
    }
  } catch (e) { /* the search still works over every chat */ }
  if (app.route.arg) {
    q.value = app.route.arg
    run()
  }
  q.focus()

  async function run(ev) {
    if (ev) ev.preventDefault()
    if (!q.value.trim()) return
    const fresh = searches()
    status.textContent = 'Searching…'
    let path = '/search?q=' + encodeURIComponent(q.value) + '&limit=100'
    if (chat.value) path += '&chat=' + encodeURIComponent(chat.value)
    try {
      const r = await app.api('GET', path)
      if (!alive || !fresh()) return
      results.replaceChildren(...r.messages.map(item))
      status.textContent = r.messages.length === 0 ? 'No messages found.'
        : r.messages.length + (r.messages.length === 1 ? ' message found.' : ' messages found.')
    } catch (e) {
      if (alive && fresh()) { status.textContent = ''; app.error(e) }
    }
  }

  function item(m) {
    const c = convs.get(m.peer)
    const where = c ? peerName(c, app) : app.shortID(m.peer)
    const who = m.outgoing ? 'You' : (c && !c.group ? where : app.shortID(m.sender))
    return h('li', { dataset: { localId: String(m.local_id) } },
      h('p', { class: 'where' },
        h('a', { href: '#/chat/' + encodeURIComponent(m.peer), class: 'chat-link' }, where), ' · ',
        h('time', { datetime: m.sent_at }, app.formatTime(m.sent_at)), ' · ', who),
      h('p', { class: 'text' }, m.text))
  }

  return () => { alive = false }
}
