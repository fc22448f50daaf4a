// contacts.js: message requests (accept, block, delete) and contacts with
// their local nicknames (rename, block, unblock, add). Names, display
// names and message previews come from other people: text nodes only.

const ACCOUNT_ID = /^05[0-9a-fA-F]{64}$/

export function mount(el, app) {
  const h = app.h
  const requests = h('div', {}, h('p', { class: 'muted' }, 'Loading…'))
  const contacts = h('div', {}, h('p', { class: 'muted' }, 'Loading…'))
  const live = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', tabindex: '-1' })
  let alive = true
  let names = new Map() // Account ID → nickname (who invited)
  const keepTyping = app.keepEdits(contacts)

  const addID = h('input', { type: 'text', id: 'contact-add-id', autocomplete: 'off', spellcheck: 'false',
    class: 'mono', 'aria-describedby': 'contact-add-desc' })
  const addName = h('input', { type: 'text', id: 'contact-add-name', autocomplete: 'off' })
  const addForm = h('form', { class: 'card', 'aria-labelledby': 'contact-add-title', onsubmit: (ev) => { ev.preventDefault(); add() } },
    h('h2', { id: 'contact-add-title' }, 'Add a contact'),
    h('div', { class: 'field' }, h('label', { for: 'contact-add-id' }, 'Account ID'), addID,
      h('p', { id: 'contact-add-desc', class: 'muted' }, '66 characters starting with 05.')),
    h('div', { class: 'field' }, h('label', { for: 'contact-add-name' }, 'Nickname (only you see it)'), addName),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Add')))

  el.append(
    h('h1', { id: 'title-contacts' }, 'Contacts'),
    live,
    h('section', { 'aria-labelledby': 'requests-title' },
      h('h2', { id: 'requests-title' }, 'Requests'),
      h('p', { class: 'muted' }, 'People you have not accepted yet. They do not learn whether you read their messages, ' +
        'and their files are not downloaded until you accept. Group invitations are here too.'),
      requests),
    h('section', { 'aria-labelledby': 'contacts-title' },
      h('h2', { id: 'contacts-title' }, 'Your contacts'),
      contacts),
    addForm)

  async function act(fn, done) {
    const focused = document.activeElement && document.activeElement.id
    try {
      await fn()
      if (!alive) return
      live.textContent = done
      await load()
      // The lists are drawn again: keep the keyboard's place, or put it
      // on the outcome when the control went away (an accepted request).
      const again = focused && document.getElementById(focused)
      if (again) again.focus()
      else if (!el.contains(document.activeElement)) live.focus()
    } catch (e) {
      if (alive) app.toast(e.message || String(e), 'error')
    }
  }

  const path = (id) => encodeURIComponent(id)

  // A group's invitation: accept (join) or decline; there is no one to
  // block but the inviting admin, whose own chat has its own request.
  function inviteItem(r) {
    const group = r.display_name || app.shortID(r.peer)
    const by = r.invited_by ? (names.get(r.invited_by) || app.shortID(r.invited_by)) : ''
    return h('div', { role: 'listitem', class: 'card request group-invite', dataset: { peer: r.peer, group: 'true' } },
      h('h3', {}, 'Group invitation: ', group),
      h('p', { class: 'mono muted' }, r.peer),
      by ? h('p', {}, 'From ', h('span', { class: 'mono' }, by), '. Accepting shows the members your Account ID.') : null,
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'accept', 'aria-label': 'Join the group ' + group,
          onclick: () => act(() => app.api('POST', '/requests/' + path(r.peer) + '/accept'), 'Joined ' + group + '.') }, 'Accept'),
        h('button', { type: 'button', class: 'secondary decline', 'aria-label': 'Decline the invitation to ' + group,
          onclick: () => act(() => app.api('DELETE', '/requests/' + path(r.peer)), 'Declined the invitation to ' + group + '.') }, 'Decline')))
  }

  function requestItem(r, preview) {
    if (r.group) return inviteItem(r)
    const who = r.display_name || app.shortID(r.peer)
    return h('div', { role: 'listitem', class: 'card request', dataset: { peer: r.peer } },
      h('h3', {}, who),
      h('p', { class: 'mono muted' }, r.peer),
      preview ? h('p', { class: 'preview' }, preview) : null,
      h('p', { class: 'muted' }, r.messages + (r.messages === 1 ? ' message' : ' messages') +
        (r.last_activity ? ', last ' + app.formatTime(r.last_activity) : '')),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'accept', 'aria-label': 'Accept the request from ' + who,
          onclick: () => act(() => app.api('POST', '/requests/' + path(r.peer) + '/accept'), 'Accepted ' + who + '.') }, 'Accept'),
        h('button', { type: 'button', class: 'danger block', 'aria-label': 'Block ' + who,
          onclick: () => act(() => app.api('POST', '/requests/' + path(r.peer) + '/block'), 'Blocked ' + who + '.') }, 'Block'),
        h('button', { type: 'button', class: 'secondary delete', 'aria-label': 'Delete the request from ' + who,
          onclick: () => act(() => app.api('DELETE', '/requests/' + path(r.peer)), 'Deleted the request from ' + who + '.') }, 'Delete')))
  }

  function contactItem(c) {
    const who = c.name || app.shortID(c.id)
    const inputID = 'contact-name-' + c.id
    const input = h('input', { type: 'text', id: inputID, value: c.name || '', autocomplete: 'off', class: 'rename-input' })
    const form = h('form', { class: 'row rename', onsubmit: (ev) => {
      ev.preventDefault()
      const name = input.value.trim()
      if (!name) { app.toast('A nickname cannot be empty.', 'error'); return }
      act(() => app.api('PUT', '/contacts/' + path(c.id), { name }), 'Renamed to ' + name + '.')
    } },
    h('label', { for: inputID }, 'Nickname'), input,
    h('button', { type: 'submit', class: 'secondary', id: 'contact-save-' + c.id, 'aria-label': 'Save the nickname of ' + who }, 'Save'))
    const blockBtn = c.blocked
      ? h('button', { type: 'button', class: 'secondary unblock', id: 'contact-block-' + c.id, 'aria-label': 'Unblock ' + who,
        onclick: () => act(() => app.api('POST', '/contacts/' + path(c.id) + '/unblock'), 'Unblocked ' + who + '.') }, 'Unblock')
      : h('button', { type: 'button', class: 'danger block', id: 'contact-block-' + c.id, 'aria-label': 'Block ' + who,
        onclick: () => act(() => app.api('POST', '/contacts/' + path(c.id) + '/block'), 'Blocked ' + who + '.') }, 'Block')
    return h('div', { role: 'listitem', class: 'card contact', dataset: { id: c.id } },
      h('h3', { class: 'contact-name' }, who, c.blocked ? ' (blocked)' : ''),
      h('p', { class: 'mono muted' }, c.id),
      form,
      h('div', { class: 'actions' },
        c.blocked ? null : h('a', { class: 'button secondary', href: '#/chat/' + encodeURIComponent(c.id) }, 'Open chat'),
        blockBtn))
  }

  async function preview(peer) {
    try {
      const page = await app.api('GET', '/conversations/' + path(peer) + '/messages?limit=1')
      const m = page.messages && page.messages[page.messages.length - 1]
      if (!m) return ''
      if (m.text) return m.text
      const n = (m.attachments || []).length
      return n ? n + (n === 1 ? ' file' : ' files') : ''
    } catch (e) {
      return ''
    }
  }

  // Of overlapping loads only the last one started draws (app.newest).
  const reads = app.newest()
  async function load() {
    const fresh = reads()
    try {
      const [rs, cs] = await Promise.all([app.api('GET', '/requests'), app.api('GET', '/contacts')])
      const previews = await Promise.all(rs.map((r) => r.group ? '' : preview(r.peer)))
      if (!alive || !fresh()) return
      names = new Map(cs.filter((c) => c.name).map((c) => [c.id, c.name]))
      requests.replaceChildren(rs.length
        ? h('div', { role: 'list', 'aria-label': 'Requests' }, rs.map((r, i) => requestItem(r, previews[i])))
        : h('p', { class: 'empty' }, 'No message requests.'))
      // A request's sender is known but not a contact until accepted.
      const pending = new Set(rs.map((r) => r.peer))
      const shown = cs.filter((c) => !pending.has(c.id))
      shown.sort((a, b) => (a.name || a.id).localeCompare(b.name || b.id))
      // A nickname being typed stays through the redraw (app.keepEdits).
      const restore = keepTyping()
      contacts.replaceChildren(shown.length
        ? h('div', { role: 'list', 'aria-label': 'Contacts' }, shown.map(contactItem))
        : h('p', { class: 'empty' }, 'No contacts yet. Accept a request, write to someone, or add an Account ID below.'))
      restore()
      el.dataset.requests = String(rs.length)
      el.dataset.contacts = String(shown.length)
      el.dataset.loaded = String(Number(el.dataset.loaded || 0) + 1)
    } catch (e) {
      if (alive && fresh()) contacts.replaceChildren(h('p', { role: 'alert' }, 'The contacts could not be read: ' + (e.message || e)))
    }
  }

  function add() {
    const id = addID.value.trim()
    const name = addName.value.trim()
    if (!ACCOUNT_ID.test(id)) { app.toast('That is not an Account ID (05 and 64 hex digits).', 'error'); addID.focus(); return }
    if (!name) { app.toast('Give the contact a nickname.', 'error'); addName.focus(); return }
    act(async () => {
      await app.api('PUT', '/contacts/' + path(id), { name })
      addID.value = ''
      addName.value = ''
    }, 'Added ' + name + '.')
  }

  const offs = [app.on('request', () => load()), app.on('open', () => load())]
  load()
  return () => { alive = false; offs.forEach((off) => off()) }
}
