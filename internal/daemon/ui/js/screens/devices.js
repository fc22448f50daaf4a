// devices.js: this account's devices and sharing the message history
// with them. A new device (its recovery phrase entered elsewhere) shows up
// live through the "device" event.

export function mount(el, app) {
  const h = app.h
  const list = h('div', {}, h('p', { class: 'muted' }, 'Loading…'))
  const result = h('p', { role: 'status', 'aria-live': 'polite', id: 'share-result' })
  const shareAll = h('button', { type: 'button', id: 'share-all', onclick: () => share([]) }, 'Share history with my other devices')
  el.append(
    h('h1', { id: 'title-devices' }, 'Devices'),
    h('p', {}, 'Every device that holds your recovery phrase is one of your devices. They all receive your messages from now on; ' +
      'older messages reach a new device only when you share the history with it.'),
    list,
    h('section', { class: 'card', 'aria-labelledby': 'share-title' },
      h('h2', { id: 'share-title' }, 'Share history'),
      h('p', { class: 'muted' }, 'Sends your conversations, end-to-end encrypted, to your other devices that do not have them yet. ' +
        'They can open it for a limited time.'),
      h('div', { class: 'actions' }, shareAll),
      result))
  let alive = true

  async function share(ids) {
    shareAll.disabled = true
    result.textContent = 'Sharing…'
    try {
      const r = await app.api('POST', '/devices/share-history', ids.length ? { devices: ids } : undefined)
      if (!alive) return
      const n = (r.devices || []).length
      result.textContent = n
        ? 'Shared ' + r.messages + (r.messages === 1 ? ' message' : ' messages') + ' with ' + n + (n === 1 ? ' device' : ' devices') +
          (r.openable_until ? '; they can open it until ' + app.formatTime(r.openable_until) : '') + '.'
        : 'No other device needs the history.'
      el.dataset.shared = String(Number(el.dataset.shared || 0) + 1)
    } catch (e) {
      if (alive) {
        result.textContent = ''
        app.toast(e.message || String(e), 'error')
      }
    } finally {
      shareAll.disabled = false
    }
  }

  function item(d) {
    const title = d.this_device ? 'This device' : 'Device ' + app.shortID(d.id)
    return h('div', { role: 'listitem', class: 'card device', dataset: { id: d.id, this: d.this_device ? '1' : '0' } },
      h('h2', {}, title, d.new ? ' (new)' : ''),
      h('dl', {},
        h('dt', {}, 'Device ID'), h('dd', { class: 'mono' }, d.id),
        h('dt', {}, 'Public key'), h('dd', { class: 'mono' }, d.public_key),
        d.created ? [h('dt', {}, 'Created'), h('dd', {}, app.formatTime(d.created))] : null,
        h('dt', {}, 'First seen'), h('dd', {}, app.formatTime(d.first_seen))),
      d.this_device ? null : h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', 'aria-label': 'Share history with ' + title,
          onclick: () => share([d.id]) }, 'Share history with this device')))
  }

  // Of overlapping loads only the last one started draws (app.newest).
  const reads = app.newest()
  async function load() {
    const fresh = reads()
    try {
      const ds = await app.api('GET', '/devices')
      if (!alive || !fresh()) return
      ds.sort((a, b) => (b.this_device ? 1 : 0) - (a.this_device ? 1 : 0))
      list.replaceChildren(h('div', { role: 'list', 'aria-label': 'Devices' }, ds.map(item)))
      el.dataset.devices = String(ds.length)
      el.dataset.loaded = '1'
    } catch (e) {
      if (alive && fresh()) list.replaceChildren(h('p', { role: 'alert' }, 'The devices could not be read: ' + (e.message || e)))
    }
  }

  const offs = [
    app.on('device', () => { result.textContent = 'A new device of yours appeared.'; load() }),
    app.on('open', () => load()),
  ]
  load()
  return () => { alive = false; offs.forEach((off) => off()) }
}
