// The hush web UI's frame: the API client (with the session's CSRF token),
// the event stream, the hash router, the element builder and the toasts.
// Screens live in js/screens/NAME.js and export mount(el, app), which may
// return a cleanup function (or a promise of one).
//
// Rule for every screen: text that came from the network (messages, names,
// file names, Account IDs) becomes a text node. Nothing here or in the
// screens ever assigns innerHTML; h() refuses to.

const API = '/api/v1'

// Routes: the name after "#/" picks the screen module; "gate" says which
// need an unlocked account (the others are shown whatever the state).
const ROUTES = {
  chats: 'chats', chat: 'chat', new: 'new', account: 'account',
  settings: 'settings', path: 'path', contacts: 'contacts', devices: 'devices', storage: 'storage',
  network: 'network', group: 'group', newgroup: 'groupnew',
  onboarding: 'onboarding', unlock: 'unlock', login: 'login', call: 'call',
  search: 'search',
}
const OPEN_ROUTES = new Set(['onboarding', 'unlock', 'login'])

// Event kinds the daemon sends (docs/api.md, Events).
const EVENT_KINDS = ['message', 'request', 'status', 'unsent', 'typing', 'transfer', 'paths',
  'device', 'notification', 'dropped', 'account', 'call', 'call_signal', 'reaction']

// Properties h() refuses: they would parse text as HTML.
const FORBIDDEN = new Set(['innerHTML', 'outerHTML', 'srcdoc', 'insertAdjacentHTML'])

// h builds an element: h('a', {href: '#/chats', class: 'x', onclick: fn}, 'text', child, [more]).
// Strings and numbers become text nodes; null, undefined and false are skipped.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs || {})) {
    if (FORBIDDEN.has(k)) throw new Error('h: ' + k + ' is not allowed')
    if (v === null || v === undefined || v === false) continue
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2).toLowerCase(), v)
    } else if (k === 'class') {
      el.className = v
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v)
    } else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'indeterminate') {
      el[k] = v
    } else if (v === true) {
      el.setAttribute(k, '')
    } else {
      el.setAttribute(k, String(v))
    }
  }
  append(el, children)
  return el
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue
    if (Array.isArray(c)) append(el, c)
    else if (c instanceof Node) el.append(c)
    else el.append(document.createTextNode(String(c)))
  }
}

// APIError is a refusal from the API: .code is its stable code, .status the HTTP status.
export class APIError extends Error {
  constructor(status, code, message) {
    super(message || code || ('HTTP ' + status))
    this.status = status
    this.code = code || ''
  }
}

const handlers = new Map() // event kind → Set of functions
let source = null          // the EventSource while one is open
let csrf = ''
let retryTimer = 0
let current = null         // {name, arg, cleanup, el}
let generation = 0

export const app = {
  h,
  state: { account: '', locked: true, status: 'unknown', auth: '' },
  route: { name: '', arg: '' },

  // api calls the daemon's API. path is relative to /api/v1 (or absolute
  // from /api/). body is JSON, or a FormData (multipart upload). The
  // answer is the decoded JSON, null for an empty answer, or a Blob for
  // any other content (a download).
  async api(method, path, body, opts) {
    const url = path.startsWith('/api/') ? path : API + path
    for (let attempt = 0; ; attempt++) {
      const init = { method, headers: {}, credentials: 'same-origin', cache: 'no-store' }
      if (method !== 'GET' && method !== 'HEAD') {
        if (!csrf) await loadSession()
        init.headers['X-CSRF-Token'] = csrf
      }
      if (body instanceof FormData) {
        init.body = body
      } else if (body !== undefined && body !== null) {
        init.headers['Content-Type'] = 'application/json'
        init.body = JSON.stringify(body)
      }
      if (opts && opts.signal) init.signal = opts.signal
      const resp = await fetch(url, init)
      const type = resp.headers.get('Content-Type') || ''
      if (!resp.ok) {
        let code = '', message = ''
        if (type.startsWith('application/json')) {
          try {
            const j = await resp.json()
            code = j.error && j.error.code
            message = j.error && j.error.message
          } catch (e) { /* keep the status */ }
        }
        // Another tab's login replaced this one's cookie: take the new
        // session's token and try once more.
        if (resp.status === 403 && code === 'csrf' && attempt === 0) {
          await loadSession()
          continue
        }
        if (resp.status === 401) showLogin()
        if (resp.status === 423 && app.state.status === 'unlocked') refreshStatus()
        throw new APIError(resp.status, code, message)
      }
      if (resp.status === 204) return null
      if (type.startsWith('application/json')) return resp.json()
      return resp.blob()
    }
  },

  // on subscribes fn to the events of one kind; it returns the function
  // that unsubscribes. Besides the daemon's kinds there are "open" (the
  // stream (re)connected: re-read what you show, events may have been
  // missed) and "state" (the account was locked, unlocked or created).
  on(kind, fn) {
    if (!handlers.has(kind)) {
      handlers.set(kind, new Set())
      if (source && !EVENT_KINDS.includes(kind)) source.addEventListener(kind, dispatchSSE)
    }
    handlers.get(kind).add(fn)
    return () => handlers.get(kind).delete(fn)
  },

  go(hash) {
    if (!hash.startsWith('#')) hash = '#' + hash
    if (location.hash === hash) route()
    else location.hash = hash
  },

  toast(text, kind) {
    const box = document.getElementById('toasts')
    const t = h('div', { class: 'toast' + (kind ? ' ' + kind : '') }, text)
    box.append(t)
    setTimeout(() => t.remove(), 5000)
  },

  // error shows what went wrong with an API call in a toast.
  error(err) {
    app.toast(err && err.message ? err.message : String(err), 'error')
  },

  // newest orders a screen's reads of one thing: a read takes a ticket
  // (const fresh = reads() at its start, reads = app.newest() once) and
  // shows its answer only if fresh() still holds, i.e. no later read
  // started meanwhile. Screens read again on events, so reads overlap,
  // and answers may come back in any order: an older answer shown last
  // would show an older state with no event left to correct it. An event
  // that shows its own state takes a ticket too, which retires the reads
  // started before it.
  newest() {
    let last = 0
    return () => {
      const mine = ++last
      return () => mine === last
    }
  },

  // keepEdits keeps what the user types in box's text fields through
  // the redraws of box's children a screen makes on events (matched by
  // ID): const keep = app.keepEdits(box) once; then for each redraw
  // const restore = keep(), draw, restore(). A field keeps its text, its
  // focus and its caret until what it shows is what it holds (saved).
  keepEdits(box) {
    box.addEventListener('input', ev => {
      if (ev.target.id && ev.target.matches('input[type=text], textarea')) ev.target.dataset.edited = 'true'
    })
    return () => {
      const kept = [...box.querySelectorAll('[data-edited]')].map(e => ({
        id: e.id, value: e.value, focused: document.activeElement === e, start: e.selectionStart, end: e.selectionEnd,
      }))
      return () => {
        for (const k of kept) {
          const e = document.getElementById(k.id)
          if (!e || !box.contains(e)) continue
          if (e.value !== k.value) {
            e.value = k.value
            e.dataset.edited = 'true'
          }
          if (k.focused) {
            e.focus()
            e.setSelectionRange(k.start, k.end)
          }
        }
      }
    }
  },

  // refresh re-reads the account's state (after a create, restore,
  // unlock or lock) and moves to the screen that fits it.
  refresh() { return refreshStatus() },

  // Small helpers screens share.
  shortID(id) { return id && id.length > 16 ? id.slice(0, 8) + '…' + id.slice(-6) : (id || '') },
  formatBytes(n) {
    if (!(n >= 0)) return ''
    const u = ['B', 'KB', 'MB', 'GB']
    let i = 0
    while (n >= 1000 && i < u.length - 1) { n /= 1000; i++ }
    return (i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)) + ' ' + u[i]
  },
  formatTime(iso) {
    if (!iso) return ''
    const d = new Date(iso)
    const now = new Date()
    if (d.toDateString() === now.toDateString()) return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    return d.toLocaleDateString([], { month: 'short', day: 'numeric' }) + ' ' + d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
  },
}

function emit(kind, data) {
  const set = handlers.get(kind)
  if (!set) return
  for (const fn of [...set]) {
    try { fn(data) } catch (e) { console.error(e) }
  }
}

function dispatchSSE(ev) {
  let data = null
  try { data = JSON.parse(ev.data) } catch (e) { return }
  if (ev.type === 'account') {
    refreshStatus()
  }
  emit(ev.type, data)
}

// openEvents opens the event stream (the cookie goes along). The daemon
// answers 423 while locked, which closes an EventSource for good: then we
// wait for the account's state to change and open it again.
function openEvents() {
  if (source) return
  clearTimeout(retryTimer)
  const es = new EventSource(API + '/events')
  source = es
  for (const k of new Set([...EVENT_KINDS, ...handlers.keys()])) es.addEventListener(k, dispatchSSE)
  es.onopen = () => {
    document.documentElement.dataset.sse = 'open'
    emit('open', null)
  }
  es.onerror = () => {
    document.documentElement.dataset.sse = 'closed'
    if (es.readyState === EventSource.CLOSED) {
      // Refused (locked, or a restarted daemon that forgot the session):
      // re-read the state, which reopens the stream or shows why not.
      source = null
      retryTimer = setTimeout(() => { refreshStatus().catch(() => {}) }, 2000)
    }
  }
}

function closeEvents() {
  if (source) source.close()
  source = null
  document.documentElement.dataset.sse = 'closed'
}

async function loadSession() {
  const resp = await fetch(API + '/session', { credentials: 'same-origin', cache: 'no-store' })
  if (resp.status === 401) {
    showLogin()
    throw new APIError(401, 'unauthorized', 'not logged in')
  }
  const j = await resp.json()
  csrf = j.csrf_token || ''
  app.state.auth = j.auth
}

async function refreshStatus() {
  const st = await app.api('GET', '/status')
  const before = app.state.status
  app.state.status = st.state
  app.state.account = st.account_id || ''
  app.state.locked = st.state !== 'unlocked'
  app.state.network = st.network_id || ''
  document.getElementById('nav').hidden = app.state.locked
  if (st.state === 'unlocked') openEvents()
  else closeEvents()
  if (before !== st.state) emit('state', app.state)
  route()
  return st
}

function showLogin() {
  closeEvents()
  app.state.status = 'logged_out'
  app.state.locked = true
  document.getElementById('nav').hidden = true
  route()
}

// notify shows the daemon's ready-made notification (its content follows
// the notification_content setting) while the page is not in view, if
// the user allowed desktop notifications.
function notify(n) {
  if (!document.hidden || !('Notification' in window) || Notification.permission !== 'granted') return
  const note = new Notification(n.title || 'hush', { body: n.body || '', tag: n.peer || 'hush' })
  note.onclick = () => {
    window.focus()
    if (n.peer) app.go('#/chat/' + n.peer)
  }
}

// The screen a state allows: with no account only onboarding, locked only
// unlock (or onboarding's restore), unlocked anything but those two.
function allowed(name) {
  const s = app.state.status
  if (s === 'logged_out') return 'login'
  if (s === 'no_account') return name === 'onboarding' ? name : 'onboarding'
  if (s === 'locked') return name === 'unlock' ? name : 'unlock'
  if (s === 'unlocked') {
    if (name === 'unlock' || name === 'login' || (name === 'onboarding' && !onboardingBusy())) return 'chats'
    return ROUTES[name] ? name : 'chats'
  }
  return ''
}

// Onboarding keeps its screen until the user confirmed the phrase, though
// the account is already unlocked.
function onboardingBusy() { return document.documentElement.dataset.onboarding === 'busy' }

async function route() {
  const raw = location.hash.replace(/^#\/?/, '')
  const slash = raw.indexOf('/')
  let name = slash < 0 ? raw : raw.slice(0, slash)
  let arg = slash < 0 ? '' : decodeURIComponent(raw.slice(slash + 1))
  if (!name) name = 'chats'
  const want = allowed(name)
  if (!want) return // the state is not known yet
  if (want !== name) {
    history.replaceState(null, '', '#/' + want)
    name = want
    arg = ''
  }
  if (current && current.name === name && current.arg === arg) return
  const gen = ++generation
  if (current && current.cleanup) {
    try { current.cleanup() } catch (e) { console.error(e) }
  }
  current = null
  const main = document.getElementById('main')
  main.replaceChildren()
  app.route = { name, arg }
  document.documentElement.dataset.route = ''
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.route === name || ((name === 'chat' || name === 'group') && a.dataset.route === 'chats') || (name === 'newgroup' && a.dataset.route === 'new')) a.setAttribute('aria-current', 'page')
    else a.removeAttribute('aria-current')
  }
  const el = h('section', { class: 'screen screen-' + name, 'aria-labelledby': 'title-' + name })
  main.append(el)
  current = { name, arg, el, cleanup: null }
  try {
    const mod = await import('./screens/' + ROUTES[name] + '.js')
    if (gen !== generation) return
    let cleanup = mod.mount(el, app)
    if (cleanup && typeof cleanup.then === 'function') cleanup = await cleanup
    if (gen !== generation) {
      if (typeof cleanup === 'function') cleanup()
      return
    }
    current.cleanup = typeof cleanup === 'function' ? cleanup : null
  } catch (e) {
    console.error(e)
    el.append(h('p', { role: 'alert' }, 'This screen failed: ' + (e && e.message ? e.message : e)))
  }
  if (gen === generation) {
    // A new screen takes the focus unless it placed it itself (a
    // keyboard or screen reader user starts at the new content).
    if (!main.contains(document.activeElement)) main.focus()
    document.documentElement.dataset.route = name
    if (window.performance && !window.__firstRender) {
      window.__firstRender = performance.now()
    }
  }
}

// Test and benchmark hook: the app object, read-only use.
window.hushApp = app

async function start() {
  window.addEventListener('hashchange', route)
  app.on('notification', notify)
  // Calls ring whatever screen is shown: call.js follows them from here.
  import('./screens/call.js').then(m => m.watch(app)).catch(e => console.error(e))
  try {
    await loadSession()
    await refreshStatus()
  } catch (e) {
    if (e.status === 401) { app.state.status = 'logged_out'; route(); return }
    document.getElementById('main').replaceChildren(h('p', { role: 'alert' }, 'The daemon does not answer: ' + e.message))
  }
}

start()
