// group: a closed group's info. Its members with roles and states; for
// admins invite, remove, promote, rename, the disappearing setting and
// delete; for everyone leave. Names and Account IDs are text nodes.

const TIMERS = [
  [0, 'Off'],
  [3600e9, '1 hour after sending'],
  [86400e9, '1 day after sending'],
  [7 * 86400e9, '1 week after sending'],
]

export async function mount(el, app) {
  const h = app.h
  const arg = app.route.arg
  const live = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', id: 'group-live', tabindex: '-1' })
  const body = h('div', {})
  const keepTyping = app.keepEdits(body)
  const title = h('h1', { id: 'title-group' }, 'Group')
  el.append(title, live, body)
  let alive = true
  let g = null

  const path = () => '/groups/' + encodeURIComponent(g ? g.id : arg)

  async function act(fn, done, then) {
    try {
      const out = await fn()
      if (!alive) return
      live.textContent = done
      if (then) then(out)
      else await load()
      if (!el.contains(document.activeElement)) live.focus()
    } catch (e) {
      if (alive) app.error(e)
    }
  }

  // confirmFirst makes a button act on its second press, saying first
  // what it will do. The armed state lives here, by the button's ID or
  // label, so a redraw (every message event reads the group again)
  // between the two presses neither disarms the button nor moves the
  // keyboard's focus.
  const armed = new Map() // button key → its question
  const keyOf = btn => btn.id || btn.getAttribute('aria-label') || btn.textContent
  function arm(btn, question) {
    btn.dataset.armed = 'true'
    btn.textContent = question
  }
  function confirmFirst(btn, question) {
    const key = keyOf(btn)
    if (btn.dataset.armed === 'true') {
      armed.delete(key)
      return true
    }
    armed.set(key, question)
    arm(btn, question)
    return false
  }
  // redrawn restores the armed buttons and the focused one after body's
  // children were replaced; focusKey names the control focused before.
  function redrawn(focusKey) {
    for (const btn of body.querySelectorAll('button')) {
      const key = keyOf(btn)
      if (armed.has(key)) arm(btn, armed.get(key))
      if (focusKey && key === focusKey) btn.focus()
    }
  }

  function memberItem(m) {
    const who = m.name || app.shortID(m.id)
    const me = m.id === app.state.account
    const admin = m.role === 'admin'
    const actions = []
    if (g.admin && !admin && !me) {
      actions.push(h('button', { type: 'button', class: 'secondary promote', 'aria-label': 'Make ' + who + ' an admin',
        onclick: ev => {
          if (!confirmFirst(ev.currentTarget, 'Make admin for good?')) return
          act(() => app.api('POST', path() + '/members/' + m.id + '/promote'), who + ' is an admin now.')
        } }, 'Make admin'))
      actions.push(h('button', { type: 'button', class: 'danger remove', 'aria-label': 'Remove ' + who,
        onclick: ev => {
          if (!confirmFirst(ev.currentTarget, 'Remove ' + who + '?')) return
          act(() => app.api('DELETE', path() + '/members/' + m.id), 'Removed ' + who + '.')
        } }, 'Remove'))
    }
    return h('li', { class: 'card member', dataset: { id: m.id, role: m.role, state: m.state } },
      h('span', { class: 'member-name' }, me ? 'You' : who),
      ' ',
      h('span', { class: 'role' }, admin ? 'Admin' : 'Member'),
      m.state === 'invited' ? h('span', { class: 'muted' }, ' · invited') : null,
      h('p', { class: 'mono muted' }, m.id),
      actions.length ? h('div', { class: 'actions' }, actions) : null)
  }

  function render() {
    title.textContent = g.name
    const joined = g.state === 'joined'
    const parts = [
      h('p', { class: 'mono muted', id: 'group-id' }, g.id),
      h('p', {}, g.members + (g.members === 1 ? ' member' : ' members') +
        (g.state !== 'joined' ? ' · you ' + ({ invited: 'are invited', left: 'left', removed: 'were removed', deleted: 'deleted it' }[g.state] || g.state) : '') +
        (g.admin ? ' · you are an admin' : '')),
      h('p', { class: 'muted' }, 'Admins hold the group\'s key: an admin cannot be demoted or removed, ' +
        'so make someone an admin only if you trust them with the group for good.'),
      h('div', { class: 'actions' }, h('a', { class: 'button secondary', href: '#/chat/' + g.id, id: 'group-open-chat' }, 'Open chat')),
      h('section', { 'aria-labelledby': 'group-members-title' },
        h('h2', { id: 'group-members-title' }, 'Members'),
        h('ul', { class: 'member-list', id: 'group-members', 'aria-label': 'Members of ' + g.name }, g.member_list.map(memberItem))),
    ]
    if (g.admin && joined) {
      const invite = h('textarea', { id: 'group-invite', rows: 2, class: 'mono', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'group-invite-help' })
      parts.push(h('form', { class: 'card', id: 'group-invite-form', 'aria-labelledby': 'group-invite-title', onsubmit: ev => {
        ev.preventDefault()
        const list = invite.value.split(/[\s,]+/).filter(Boolean)
        if (!list.length) return
        act(async () => {
          await app.api('POST', path() + '/members', { members: list })
          // Sent: the field (drawn again meanwhile, maybe) is emptied.
          const field = document.getElementById('group-invite')
          if (field) {
            field.value = ''
            delete field.dataset.edited
          }
        }, 'Invited ' + list.length + (list.length === 1 ? ' account.' : ' accounts.'))
      } },
      h('h2', { id: 'group-invite-title' }, 'Invite'),
      h('div', { class: 'field' }, h('label', { for: 'group-invite' }, 'Account IDs or nicknames'), invite,
        h('p', { class: 'muted', id: 'group-invite-help' }, 'One a line. They see the group from their invitation on.')),
      h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'group-invite-submit' }, 'Invite'))))

      const rename = h('input', { id: 'group-rename', type: 'text', value: g.name, autocomplete: 'off', maxlength: 100 })
      parts.push(h('form', { class: 'card', 'aria-labelledby': 'group-rename-title', onsubmit: ev => {
        ev.preventDefault()
        act(() => app.api('PATCH', path(), { name: rename.value.trim() }), 'Renamed to ' + rename.value.trim() + '.')
      } },
      h('h2', { id: 'group-rename-title' }, 'Name'),
      h('div', { class: 'field' }, h('label', { for: 'group-rename' }, 'Group name'), rename),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary', id: 'group-rename-submit' }, 'Rename'))))

      const timer = h('select', { id: 'group-timer' }, TIMERS.map(([ns, label]) =>
        h('option', { value: String(ns), selected: (g.disappear_after_ns || 0) === ns }, label)))
      if (!TIMERS.some(([ns]) => ns === (g.disappear_after_ns || 0))) {
        timer.append(h('option', { value: String(g.disappear_after_ns), selected: true }, Math.round(g.disappear_after_ns / 60e9) + ' minutes after sending'))
      }
      timer.addEventListener('change', () => act(() => app.api('PATCH', path(), { disappear_after_ns: Number(timer.value) }), 'Disappearing messages changed.'))
      parts.push(h('div', { class: 'card' },
        h('div', { class: 'field' }, h('label', { for: 'group-timer' }, 'Disappearing messages (for everyone in the group)'), timer)))
    } else if (g.disappear_after_ns) {
      parts.push(h('p', {}, 'Messages disappear ' + Math.round(g.disappear_after_ns / 60e9) + ' minutes after sending (an admin\'s setting).'))
    }
    const danger = []
    if (g.state === 'invited') {
      danger.push(h('button', { type: 'button', id: 'group-accept', onclick: () =>
        act(() => app.api('POST', path() + '/accept'), 'Joined ' + g.name + '.') }, 'Accept the invitation'))
    }
    if (joined || g.state === 'invited') {
      danger.push(h('button', { type: 'button', class: 'danger', id: 'group-leave', onclick: ev => {
        if (!confirmFirst(ev.currentTarget, g.admin ? 'Leave? (you stay an admin until you do)' : 'Leave the group?')) return
        act(() => app.api('POST', path() + '/leave'), 'You left ' + g.name + '.')
      } }, g.state === 'invited' ? 'Decline' : 'Leave group'))
    }
    if (g.admin && g.state !== 'deleted') {
      danger.push(h('button', { type: 'button', class: 'danger', id: 'group-delete', onclick: ev => {
        if (!confirmFirst(ev.currentTarget, 'Delete for everyone?')) return
        act(() => app.api('DELETE', path()), 'Deleted ' + g.name + '.', () => app.go('#/chats'))
      } }, 'Delete group'))
    }
    if (danger.length) parts.push(h('div', { class: 'actions' }, danger))
    const a = document.activeElement
    const focusKey = a && a.tagName === 'BUTTON' && body.contains(a) ? keyOf(a) : ''
    // Keys are read before the redraw: an armed button's text is its
    // question. What is being typed (an invitation, a name) stays
    // (app.keepEdits).
    const restore = keepTyping()
    body.replaceChildren(...parts)
    restore()
    redrawn(focusKey)
  }

  // Of overlapping loads only the last one started draws (app.newest).
  const reads = app.newest()
  async function load() {
    const fresh = reads()
    try {
      const got = await app.api('GET', '/groups/' + encodeURIComponent(g ? g.id : arg))
      if (!alive || !fresh()) return
      g = got
      render()
      el.dataset.loaded = String(Number(el.dataset.loaded || 0) + 1)
    } catch (e) {
      if (!alive || !fresh()) return
      if (e.code === 'unknown_group') {
        title.textContent = 'Unknown group'
        body.replaceChildren(h('p', {}, 'No group here is called ', h('strong', {}, arg), '.'))
        el.dataset.loaded = 'true'
        return
      }
      throw e
    }
  }

  // A message may carry membership news (the member list lands with the
  // group's messages); reading the group again is cheap.
  let timer = 0
  const reload = () => { clearTimeout(timer); timer = setTimeout(() => load().catch(() => {}), 200) }
  const offs = ['message', 'request', 'open'].map(k => app.on(k, reload))
  await load()
  // A load an event started meanwhile retired this one: the screen
  // counts as shown once a load has drawn it.
  while (alive && !el.dataset.loaded) await load()
  return () => {
    alive = false
    clearTimeout(timer)
    offs.forEach(off => off())
  }
}
