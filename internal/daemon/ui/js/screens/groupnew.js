// groupnew: create a closed group: its name and its members' Account IDs
// (one a line, or separated by spaces or commas; contacts' nicknames work
// too). The members get an invitation, shown to them as a request.
import { isAccountID } from '../names.js'

export function mount(el, app) {
  const h = app.h
  const name = h('input', { id: 'group-name', type: 'text', autocomplete: 'off', required: true, maxlength: 100 })
  const members = h('textarea', { id: 'group-members', rows: 4, autocomplete: 'off', spellcheck: 'false', class: 'mono',
    'aria-describedby': 'group-members-help' })
  const err = h('p', { class: 'error', role: 'alert', id: 'group-error' })
  const submitBtn = h('button', { type: 'submit', id: 'group-create' }, 'Create group')
  el.append(
    h('h1', { id: 'title-newgroup' }, 'New group'),
    h('form', { onsubmit: submit },
      h('div', { class: 'field' }, h('label', { for: 'group-name' }, 'Group name'), name),
      h('div', { class: 'field' },
        h('label', { for: 'group-members' }, 'Members'), members,
        h('p', { class: 'muted', id: 'group-members-help' },
          'Account IDs (66 characters starting with 05) or contacts\' nicknames, one a line. ' +
          'Each gets an invitation; up to 100 members. You are the group\'s admin.')),
      err,
      h('div', { class: 'actions' }, submitBtn, h('a', { class: 'button secondary', href: '#/new' }, 'Cancel'))))
  name.focus()

  async function submit(ev) {
    ev.preventDefault()
    err.textContent = ''
    const list = members.value.split(/[\s,]+/).map(s => s.trim()).filter(Boolean)
    const own = list.find(s => s.toLowerCase() === app.state.account)
    if (!name.value.trim()) {
      err.textContent = 'Give the group a name.'
      name.focus()
      return
    }
    if (own) {
      err.textContent = 'Your own Account ID is not needed: you are in the group as its admin.'
      return
    }
    const bad = list.find(s => /^0[0-9a-fA-F]+$/.test(s) && !isAccountID(s))
    if (bad) {
      err.textContent = 'This is not an Account ID: ' + bad
      return
    }
    submitBtn.disabled = true
    try {
      const g = await app.api('POST', '/groups', { name: name.value.trim(), members: list })
      app.toast('Group ' + g.name + ' created.')
      app.go('#/chat/' + g.id)
    } catch (e) {
      err.textContent = e.message
    } finally {
      submitBtn.disabled = false
    }
  }
}
