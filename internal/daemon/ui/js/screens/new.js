// new: start a conversation with an Account ID (and give it a nickname).
import { isAccountID } from '../names.js'

export function mount(el, app) {
  const h = app.h
  const id = h('input', { id: 'new-id', type: 'text', autocomplete: 'off', spellcheck: 'false', required: true,
    'aria-describedby': 'new-id-help', placeholder: '05…' })
  const nick = h('input', { id: 'new-name', type: 'text', autocomplete: 'off', 'aria-describedby': 'new-name-help' })
  const err = h('p', { class: 'error', role: 'alert' })
  el.append(
    h('h1', { id: 'title-new' }, 'New conversation'),
    h('form', { onsubmit: submit },
      h('div', { class: 'field' },
        h('label', { for: 'new-id' }, 'Account ID'), id,
        h('p', { class: 'muted', id: 'new-id-help' }, '66 characters starting with 05, as the other person\'s "My ID" screen shows it.')),
      h('div', { class: 'field' },
        h('label', { for: 'new-name' }, 'Nickname (optional)'), nick,
        h('p', { class: 'muted', id: 'new-name-help' }, 'Only you see it.')),
      err,
      h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'new-submit' }, 'Start'))),
    h('p', {}, 'Or ', h('a', { href: '#/newgroup', id: 'new-group-link' }, 'create a group'), ' with several people.'))
  id.focus()

  async function submit(ev) {
    ev.preventDefault()
    const peer = id.value.trim()
    err.textContent = ''
    if (!isAccountID(peer)) {
      err.textContent = 'This is not an Account ID: it has 66 characters, 05 then 64 of 0-9 and a-f.'
      return
    }
    if (peer.toLowerCase() === app.state.account) {
      err.textContent = 'This is your own Account ID.'
      return
    }
    try {
      if (nick.value.trim()) await app.api('PUT', '/contacts/' + peer, { name: nick.value.trim() })
      app.go('#/chat/' + peer.toLowerCase())
    } catch (e) {
      err.textContent = e.code === 'nickname_taken' ? 'Another contact has this nickname.' : e.message
    }
  }
}
