// login: shown when the page has no session (the cookie is missing or
// the daemon restarted).
export function mount(el, app) {
  const h = app.h
  el.append(
    h('h1', { id: 'title-login' }, 'Log in to hush'),
    h('p', {}, 'This page has no session with the daemon. Open the one-time login address that ',
      h('code', {}, 'hush daemon'), ' printed when it started (it works once, for five minutes).'),
    h('p', {}, 'A script holding the API key can make a new one: ',
      h('code', { class: 'mono' }, 'curl -X POST -H "Authorization: Bearer $(hush daemon --print-key)" http://127.0.0.1:7777/api/v1/session/login-url')),
  )
}
