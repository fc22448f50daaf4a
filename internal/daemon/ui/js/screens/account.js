// account: the own Account ID, as text to copy and as a QR code to scan,
// and the lock.
export function mount(el, app) {
  const h = app.h
  const id = app.state.account
  const copy = h('button', { type: 'button', class: 'secondary', id: 'copy-id', onclick: async () => {
    try {
      await navigator.clipboard.writeText(id)
      app.toast('Account ID copied.')
    } catch (e) {
      window.getSelection().selectAllChildren(text)
      app.toast('Select the ID and copy it.')
    }
  } }, 'Copy')
  const text = h('p', { class: 'mono', id: 'own-id' }, id)
  el.append(
    h('h1', { id: 'title-account' }, 'My Account ID'),
    h('p', {}, 'Give this ID to people so they can write to you. It is public: it reveals nothing but lets anyone send you a message request.'),
    text,
    h('div', { class: 'actions' }, copy),
    h('figure', { class: 'qr' },
      h('img', { src: '/api/v1/account/qr.svg', alt: 'QR code of your Account ID', id: 'own-qr', width: 216, height: 216 })),
    h('h2', {}, 'Desktop notifications'),
    notifications(),
    h('h2', {}, 'Lock'),
    h('p', {}, 'Locking stops receiving and closes the database until the passphrase is given again.'),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'danger', id: 'lock', onclick: async () => {
        try {
          await app.api('POST', '/account/lock')
          await app.refresh()
        } catch (e) { app.error(e) }
      } }, 'Lock hush')))


  // notifications offers to allow desktop notifications (what they show
  // is the notification content setting).
  function notifications() {
    const state = h('span', { id: 'notify-state' })
    const btn = h('button', { type: 'button', class: 'secondary', id: 'notify-allow', onclick: async () => {
      await Notification.requestPermission()
      show()
    } }, 'Allow desktop notifications')
    const show = () => {
      const p = 'Notification' in window ? Notification.permission : 'unsupported'
      state.textContent = p === 'granted' ? 'Allowed: hush notifies you while this page is in the background.'
        : p === 'denied' ? 'Blocked in the browser\'s site settings.'
          : p === 'unsupported' ? 'This browser has no desktop notifications.' : ''
      btn.hidden = p !== 'default'
    }
    show()
    return h('div', { class: 'row' }, state, btn)
  }
}
