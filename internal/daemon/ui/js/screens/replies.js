// replies: the parts of a message row for issue 22's replies and
// reactions, used by chat.js: the quote above a reply (a button that jumps
// to the original, or a "not available" note when it is gone), the row of
// reactions (each a toggle button with its count and who), and a small
// emoji picker that works from the keyboard (arrow keys, Enter, Escape).
// Quoted text and names are text nodes, as everywhere.

// The picker's emoji, with the names a screen reader says.
export const EMOJI = [
  ['👍', 'thumbs up'], ['❤️', 'heart'], ['😂', 'laughing'], ['😮', 'surprised'],
  ['😢', 'sad'], ['🎉', 'celebration'], ['🙏', 'thank you'], ['👎', 'thumbs down'],
]

// quoteBlock shows what m replies to. jump(local_id) is called when the
// user picks a quote whose original is here.
export function quoteBlock(app, m, who, jump) {
  const q = m.quote
  if (!q) return null
  const author = who(q.author)
  const excerpt = q.text || '(no text)'
  if (q.available) {
    return app.h('button', {
      type: 'button', class: 'quote', dataset: { quoted: String(q.local_id), quotedId: q.id },
      'aria-label': 'Reply to ' + author + ': ' + excerpt + '. Show the message',
      onclick: () => jump(q.local_id),
    }, app.h('span', { class: 'quote-author' }, author), app.h('span', { class: 'quote-text' }, excerpt))
  }
  return app.h('div', { class: 'quote gone', dataset: { quotedId: q.id } },
    app.h('span', { class: 'quote-author' }, author),
    app.h('span', { class: 'quote-gone' }, ' (not available)'),
    app.h('span', { class: 'quote-text' }, excerpt))
}

// reactionsBar shows m's reactions; each toggles this account's own.
export function reactionsBar(app, m, who, toggle) {
  const rs = m.reactions || []
  if (!rs.length) return null
  const self = app.state.account
  return app.h('div', { class: 'reactions', role: 'group', 'aria-label': 'Reactions' },
    rs.map(r => {
      const mine = r.by.includes(self)
      const names = r.by.map(a => (a === self ? 'you' : who(a))).join(', ')
      return app.h('button', {
        type: 'button', class: 'reaction' + (mine ? ' mine' : ''), 'aria-pressed': mine ? 'true' : 'false',
        title: names, 'aria-label': r.emoji + ' ' + r.count + ': ' + names, dataset: { emoji: r.emoji, count: String(r.count) },
        onclick: () => toggle(m, r.emoji, mine),
      }, r.emoji + ' ' + r.count)
    }))
}

// mineOf reports whether this account put emoji on m.
export function mineOf(app, m, emoji) {
  const r = (m.reactions || []).find(x => x.emoji === emoji)
  return !!(r && r.by.includes(app.state.account))
}

// openPicker shows the emoji picker after the button `opener`; pick(emoji)
// is called with the choice. Focus goes to the first emoji, arrow keys
// move it, Escape (or a choice) closes and returns focus to the opener.
export function openPicker(app, opener, pick) {
  const open = opener.parentElement.querySelector('.picker')
  if (open) { close(open); return }
  const buttons = EMOJI.map(([e, name]) => app.h('button', {
    type: 'button', class: 'emoji', 'aria-label': name, title: name, dataset: { emoji: e },
    onclick: () => { close(box); pick(e) },
  }, e))
  const box = app.h('div', {
    class: 'picker', role: 'group', 'aria-label': 'Pick a reaction',
    onkeydown: ev => {
      const i = buttons.indexOf(document.activeElement)
      if (ev.key === 'Escape') { ev.preventDefault(); close(box) }
      else if (ev.key === 'ArrowRight' || ev.key === 'ArrowDown') { ev.preventDefault(); buttons[(i + 1) % buttons.length].focus() }
      else if (ev.key === 'ArrowLeft' || ev.key === 'ArrowUp') { ev.preventDefault(); buttons[(i - 1 + buttons.length) % buttons.length].focus() }
      else if (ev.key === 'Home') { ev.preventDefault(); buttons[0].focus() }
      else if (ev.key === 'End') { ev.preventDefault(); buttons[buttons.length - 1].focus() }
    },
  }, buttons)
  opener.setAttribute('aria-expanded', 'true')
  opener.after(box)
  buttons[0].focus()
  function close(b) {
    // The row may have been drawn again meanwhile, the picker moved over
    // to the new row's opener (chat.js focusKeeper): focus that one.
    const to = b.isConnected && b.previousElementSibling ? b.previousElementSibling : opener
    b.remove()
    to.setAttribute('aria-expanded', 'false')
    to.focus()
  }
}
