// unlock: a daemon whose home holds a locked account asks for its passphrase.
export function mount(el, app) {
  const h = app.h
  const pass = h('input', { id: 'unlock-pass', type: 'password', autocomplete: 'current-password', required: true })
  const err = h('p', { class: 'error', role: 'alert' })
  const btn = h('button', { type: 'submit', id: 'unlock-submit' }, 'Unlock')
  const form = h('form', { onsubmit: submit },
    h('div', { class: 'field' }, h('label', { for: 'unlock-pass' }, 'Passphrase'), pass),
    err,
    h('div', { class: 'actions' }, btn))
  el.append(
    h('h1', { id: 'title-unlock' }, 'Unlock hush'),
    h('p', {}, 'Account ', h('span', { class: 'mono' }, app.state.account)),
    form)
  pass.focus()

  async function submit(ev) {
    ev.preventDefault()
    err.textContent = ''
    btn.disabled = true
    try {
      await app.api('POST', '/account/unlock', { passphrase: pass.value })
      pass.value = ''
      await app.refresh()
    } catch (e) {
      err.textContent = e.code === 'wrong_passphrase' ? 'Wrong passphrase.' : e.message
      btn.disabled = false
      pass.focus()
    }
  }
}
