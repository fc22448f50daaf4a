// network.js: the "Network" page. Every steward server the network file
// names (registry hosts, push, files, TURN) publishes a signed
// transparency report: what it holds, how many, which fields, how long,
// what it logs, and the steward's statement of requests for data. The
// daemon fetches them through onion paths and checks each signature
// against the network file (GET /network/transparency); this page shows
// them side by side. Everything in a report comes from a server, so it
// is text nodes only.

export function mount(el, app) {
  const h = app.h
  const grid = h('div', { class: 'reports', role: 'list', 'aria-label': 'Steward servers' }, h('p', { class: 'muted' }, 'Fetching the reports through onion paths…'))
  const live = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' })
  const refresh = h('button', { type: 'button', class: 'secondary', onclick: () => load('Reports fetched again.') }, 'Refresh')
  el.append(
    h('h1', { id: 'title-network' }, 'Network'),
    h('p', {}, 'The stewards who run the network\'s shared servers publish what those servers hold, signed with each ' +
      'server\'s key. hush fetches every report through an onion path (no steward sees your IP address) and checks its ' +
      'signature against the network file. Service nodes sign no report.'),
    h('div', { class: 'actions' }, refresh),
    live,
    grid)
  let alive = true

  function records(list) {
    return h('table', { class: 'records' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Record'), h('th', { scope: 'col' }, 'Count'), h('th', { scope: 'col' }, 'Kept'))),
      h('tbody', {}, (list || []).map((r) => h('tr', { class: 'record', dataset: { kind: r.kind, name: r.name } },
        h('td', { title: (r.description || '') + (r.fields && r.fields.length ? '\nFields: ' + r.fields.join(', ') : '') },
          h('span', { class: 'muted' }, r.kind + ' '), r.name),
        h('td', { class: 'count' }, String(r.count)),
        h('td', {}, r.retention || '')))))
  }

  function card(r, i) {
    const s = r.statement
    const head = h('h2', { id: 'report-title-' + i }, r.server, ' ', h('span', { class: 'muted mono' }, r.address || ''))
    const key = r.pubkey_ed25519 ? h('p', { class: 'muted mono report-key', title: r.pubkey_ed25519 }, 'Key ' + app.shortID(r.pubkey_ed25519)) : null
    const attrs = { role: 'listitem', class: 'card report' + (r.verified ? ' verified' : ' unverified'), 'aria-labelledby': 'report-title-' + i,
      dataset: { server: r.server, verified: r.verified ? '1' : '0' } }
    if (!r.verified || !s) {
      return h('section', attrs, head, key,
        h('p', { class: 'report-status', role: 'alert' }, 'No verified report: ', r.error || 'unknown error'))
    }
    const rep = s.report || {}
    const logs = rep.logs || {}
    return h('section', attrs, head, key,
      h('p', { class: 'report-status' }, 'Signature verified. Signed ' + app.formatTime(new Date(s.issued_ms).toISOString()) + '.'),
      h('p', { class: 'muted' }, s.period && s.period.start ? 'Period ' + s.period.start + ' – ' + s.period.end : 'No period stated.'),
      h('h3', {}, 'Requests for data'),
      h('p', { class: 'report-requests' }, (s.requests || '').trim() || 'No statement.'),
      h('h3', {}, 'Holds'),
      records(rep.records),
      h('h3', {}, 'Logs'),
      h('p', { class: 'report-logs' }, 'Level ' + (logs.level || '?') + (logs.private ? ': PRIVATE DATA ON (addresses may be logged)' : '') +
        '; ' + (logs.streams || []).map((st) => st.name).join(', ')))
  }

  async function load(note) {
    refresh.disabled = true
    try {
      const reps = await app.api('GET', '/network/transparency')
      if (!alive) return
      grid.replaceChildren(...(reps.length ? reps.map(card) : [h('p', { class: 'empty' }, 'The network file names no steward servers.')]))
      el.dataset.reports = String(reps.length)
      el.dataset.verified = String(reps.filter((r) => r.verified).length)
      el.dataset.loaded = '1'
      if (note) live.textContent = note
    } catch (e) {
      if (alive) {
        grid.replaceChildren(h('p', { role: 'alert' }, 'The reports could not be fetched: ' + (e.message || e)))
        el.dataset.loaded = '1'
      }
    } finally {
      refresh.disabled = false
    }
  }

  load()
  return () => { alive = false }
}
