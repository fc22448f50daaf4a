// chats: the accepted conversations, most recent first, with unread
// counts and the last message; kept current by the event stream.
import { peerName, previewOf } from '../names.js'

export function mount(el, app) {
  const h = app.h
  const list = h('ul', { class: 'chat-list', id: 'chat-list', 'aria-label': 'Conversations' })
  const requests = h('p', { id: 'requests-note', hidden: true })
  const empty = h('p', { class: 'muted', id: 'chats-empty', hidden: true },
    'No conversations yet. Start one with someone\'s Account ID.')
  el.append(
    h('div', { class: 'conv-head' },
      h('h1', { id: 'title-chats' }, 'Chats'),
      h('a', { class: 'button', href: '#/new', id: 'new-chat' }, 'New conversation')),
    requests, list, empty)

  let timer = 0
  let alive = true
  const reload = () => {
    clearTimeout(timer)
    timer = setTimeout(load, 50)
  }
  async function load() {
    try {
      const [convs, reqs] = await Promise.all([app.api('GET', '/conversations'), app.api('GET', '/requests')])
      if (!alive) return
      list.replaceChildren(...convs.map(row))
      empty.hidden = convs.length > 0
      requests.hidden = reqs.length === 0
      requests.replaceChildren(h('a', { href: '#/contacts' },
        reqs.length === 1 ? '1 message request' : reqs.length + ' message requests'))
      el.dataset.loaded = 'true'
    } catch (e) {
      if (alive) app.error(e)
    }
  }

  function row(c) {
    const name = peerName(c, app)
    const last = c.last_message
    const unread = c.unread > 0
      ? h('span', { class: 'badge', 'aria-label': c.unread + ' unread' }, String(c.unread))
      : h('span', {})
    return h('li', { dataset: { peer: c.peer } },
      h('a', { href: '#/chat/' + encodeURIComponent(c.peer), class: unread ? 'unread' : '' },
        h('span', { class: 'name' }, name),
        h('span', { class: 'when' }, app.formatTime(c.last_activity)),
        h('span', { class: 'last' }, last ? (last.outgoing ? 'You: ' : '') + previewOf(last) : ''),
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
