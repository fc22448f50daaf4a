// path.js: the onion path view (guard → relay → relay), with each hop's
// key and address, kept live by the "paths" event. Keys and addresses come
// from the network, so they are text nodes like everything else.

const HOP_ROLES = ['Guard', 'Relay', 'Relay']

const HOP_NOTES = [
  'Sees your IP address, never what you ask or of whom.',
  'Sees only the hops before and after it.',
  'Talks to your swarm for you; never sees your IP address.',
]

export function mount(el, app) {
  const h = app.h
  const list = h('div', {}, h('p', { class: 'muted' }, 'Loading…'))
  const live = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' })
  const refresh = h('button', { type: 'button', class: 'secondary', onclick: () => load('Paths re-read.') }, 'Refresh')
  el.append(
    h('h1', { id: 'title-path' }, 'Onion path'),
    h('p', {}, 'Every request hush makes travels through three service nodes, each peeling one layer of encryption. ' +
      'No single node sees both who you are (your IP address) and what you ask for (your Account ID).'),
    h('div', { class: 'actions' }, refresh),
    live,
    list)
  let alive = true

  function hop(n, i, count) {
    const key = n.pubkey_ed25519 || ''
    const role = i === 0 ? 'Guard' : (HOP_ROLES[i] || 'Relay')
    return h('div', { role: 'listitem', class: 'card hop', dataset: { role: role.toLowerCase() } },
      h('h3', {}, role, i < count - 1 ? h('span', { 'aria-hidden': 'true' }, ' →') : null),
      h('p', { class: 'muted' }, HOP_NOTES[Math.min(i, HOP_NOTES.length - 1)]),
      h('dl', {},
        h('dt', {}, 'Address'), h('dd', { class: 'mono hop-address' }, n.address || 'unknown'),
        h('dt', {}, 'Key (Ed25519)'), h('dd', { class: 'mono hop-key', title: key }, key)))
  }

  function render(r) {
    const paths = (r && r.paths) || []
    const bad = (r && r.bad_nodes) || []
    const out = []
    if (!paths.length) {
      out.push(h('p', { class: 'empty' }, 'No onion paths yet: they are built on the first request.'))
    }
    paths.forEach((p, pi) => {
      const hops = p.hops || []
      const title = 'Path ' + (pi + 1) + ': ' + hops.map((n, i) => (i === 0 ? 'guard ' : '') + app.shortID(n.pubkey_ed25519)).join(' → ')
      out.push(h('section', { class: 'path', 'aria-labelledby': 'path-title-' + pi },
        h('h2', { id: 'path-title-' + pi }, 'Path ' + (pi + 1)),
        h('p', { class: 'muted mono' }, title),
        h('p', { class: 'muted' }, p.last_ok ? 'Last worked ' + app.formatTime(p.last_ok) + '.' : 'Not used yet.'),
        h('div', { role: 'list', class: 'hops', 'aria-label': 'Hops of path ' + (pi + 1) + ', guard first' },
          hops.map((n, i) => hop(n, i, hops.length)))))
    })
    if (bad.length) {
      out.push(h('section', { 'aria-labelledby': 'path-bad-title' },
        h('h2', { id: 'path-bad-title' }, 'Nodes caught misbehaving'),
        h('p', { class: 'muted' }, 'hush avoids these in new paths.'),
        h('ul', {}, bad.map((b) => h('li', {},
          h('span', { class: 'mono' }, app.shortID(b.pubkey_ed25519)), ': ', b.reason || '', ' (', app.formatTime(b.at), ')')))))
    }
    list.replaceChildren(...out)
    el.dataset.paths = String(paths.length)
    el.dataset.loaded = '1'
  }

  // Of overlapping loads only the last one started draws, and an event
  // that brings the paths retires the loads started before it
  // (app.newest).
  const reads = app.newest()
  async function load(note) {
    const fresh = reads()
    try {
      const r = await app.api('GET', '/paths')
      if (!alive || !fresh()) return
      render(r)
      if (note) live.textContent = note
    } catch (e) {
      if (alive && fresh()) list.replaceChildren(h('p', { role: 'alert' }, 'The paths could not be read: ' + (e.message || e)))
    }
  }

  const offPaths = app.on('paths', (r) => {
    // An event whose report could not be read carries {}: re-read instead.
    if (r && r.paths) {
      reads()
      render(r)
      live.textContent = 'The paths changed.'
    } else load('The paths changed.')
  })
  const offOpen = app.on('open', () => load())
  load()
  return () => { alive = false; offPaths(); offOpen() }
}
