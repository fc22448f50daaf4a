// chat: one conversation. Messages with their status marks, the
// disappearing timer, unsend and delete, the typing indicator (sent while
// composing, shown when the other side types), attachments with
// thumbnails, progress and a download link. Everything the other side
// wrote (text, names, file names, types) is a text node or an attribute
// value; an attachment is only ever shown through the daemon's raster
// thumbnail or downloaded.
import { peerName, isAccountID } from '../names.js'
import { quoteBlock, reactionsBar, openPicker, mineOf } from './replies.js'
import { voiceNote, recordButton } from './voice.js'
import { flagButtons, previewCards } from './chatextras.js'

const STATUS = {
  queued: ['◷', 'Queued: waiting for the network'],
  sent: ['✓', 'Sent'],
  delivered: ['✓✓', 'Delivered'],
  read: ['✓✓', 'Read'],
  failed: ['!', 'Not sent'],
}

// An outgoing message's status only moves forward: an answer or an event
// may bring an older state than the row shows (a send's answer comes
// after the swarm's confirmations, its receipts may come sooner).
const PROGRESS = { queued: 0, failed: 0, sent: 1, delivered: 2, read: 3 }

const TIMERS = [
  ['off', 0, 'Off'],
  ['after-read', 5 * 60e9, '5 minutes after reading'],
  ['after-read', 3600e9, '1 hour after reading'],
  ['after-read', 86400e9, '1 day after reading'],
  ['after-send', 3600e9, '1 hour after sending'],
  ['after-send', 86400e9, '1 day after sending'],
  ['after-send', 7 * 86400e9, '1 week after sending'],
]

// Typing: "started" again every TYPING_REFRESH while composing (a
// receiver forgets it after 15 s), "stopped" after TYPING_IDLE without a
// keystroke or on send.
const TYPING_REFRESH = 10000
const TYPING_IDLE = 5000

export async function mount(el, app) {
  const h = app.h
  const arg = app.route.arg
  let conv = null
  try {
    conv = await app.api('GET', '/conversations/' + encodeURIComponent(arg))
  } catch (e) {
    if (e.code !== 'not_found') throw e
  }
  let peer = conv ? conv.peer : (isAccountID(arg) ? arg.toLowerCase() : '')
  let contact = null
  if (!conv) {
    // No message yet: the peer is an Account ID or a contact's nickname.
    const contacts = await app.api('GET', '/contacts')
    contact = contacts.find(c => (peer ? c.id === peer : c.name === arg)) || null
    if (contact) peer = contact.id
    if (!peer) {
      el.append(h('h1', { id: 'title-chat' }, 'Unknown conversation'),
        h('p', {}, 'No contact is called ', h('strong', {}, arg), '.'))
      return
    }
  }
  const name = conv ? peerName(conv, app) : (contact ? contact.name : app.shortID(peer))
  // A closed group's chat: each message names its author; the timer is
  // the admins' setting (on the group's info screen); typing names the
  // member. Attachments are sealed and uploaded once; the group message
  // carries the pointers (docs/groups.md §7).
  const isGroup = !!(conv && conv.group)
  const senders = new Map() // Account ID → nickname (group chats)
  const senderName = id => senders.get(id) || app.shortID(id)
  // whoIs names an author in a quote or a reaction (replies.js).
  const whoIs = id => id === app.state.account ? 'You' : (isGroup ? senderName(id) : name)
  async function loadSenders() {
    const [g, contacts] = await Promise.all([
      app.api('GET', '/groups/' + encodeURIComponent(peer)).catch(() => null), app.api('GET', '/contacts')])
    for (const c of contacts) if (c.name) senders.set(c.id, c.name)
    if (g) {
      for (const m of g.member_list) if (m.name) senders.set(m.id, m.name)
      groupLine.textContent = g.members + (g.members === 1 ? ' member' : ' members') +
        (g.state !== 'joined' ? ' · ' + g.state : '')
    }
  }
  let alive = true
  const items = new Map() // local_id → li
  const transfers = new Map() // "local_id/index" → progress element
  const gone = new Set() // local IDs unsent or deleted here: a late event does not draw them again

  // --- the frame ---
  const timerSelect = h('select', { id: 'timer', onchange: setTimer },
    TIMERS.map(([mode, ns, label], i) => h('option', { value: String(i) }, label)))
  // The list keeps its list semantics (axe: a role on the <ol> would
  // orphan its items); the live region that announces arrivals wraps it.
  const list = h('ol', { class: 'messages', id: 'messages', 'aria-label': 'Messages with ' + name })
  const log = h('div', { role: 'log', 'aria-live': 'polite', 'aria-label': 'New messages with ' + name }, list)
  const older = h('button', { type: 'button', class: 'link', id: 'older', hidden: true, onclick: loadOlder }, 'Show older messages')
  const typing = h('p', { class: 'typing', id: 'typing', 'aria-live': 'polite' })
  // autocomplete off: Chromium otherwise saves the draft with the tab's
  // form state in its profile (Sessions/), message text at rest.
  const text = h('textarea', { id: 'compose', rows: 2, autocomplete: 'off', 'aria-label': 'Message', placeholder: 'Message', oninput: composing, onkeydown: keydown })
  const files = h('input', { id: 'files', type: 'file', multiple: true })
  const asFile = h('input', { id: 'as-file', type: 'checkbox' })
  const sendBtn = h('button', { type: 'submit', id: 'send' }, 'Send')
  const uploads = h('div', { id: 'uploads', 'aria-live': 'polite' })
  const groupLine = h('p', { class: 'muted', id: 'group-line' })
  // The message being replied to, shown above the composer (replies.js).
  let replyTo = null
  const replyBar = h('div', { class: 'reply-bar', id: 'reply-bar', hidden: true })
  el.append(
    h('div', { class: 'conv-head' },
      h('div', {},
        h('h1', { id: 'title-chat' }, isGroup ? [h('span', { class: 'group-mark', 'aria-hidden': 'true', title: 'Group' }, '👥 '), h('span', { class: 'visually-hidden' }, 'Group: ')] : null, name),
        isGroup ? groupLine : null,
        h('p', { class: 'mono muted', id: 'chat-peer' }, peer),
        flagButtons(app, peer)), // chatextras.js
      isGroup
        ? h('a', { class: 'button secondary', id: 'group-info', href: '#/group/' + encodeURIComponent(peer) }, 'Group info')
        : h('div', { class: 'conv-tools' },
          conv && conv.note_to_self ? null : h('div', { class: 'actions' }, // no calls to yourself
            h('button', { type: 'button', id: 'call-start', class: 'secondary', onclick: () => call(false) }, 'Call'),
            h('button', { type: 'button', id: 'call-start-video', class: 'secondary', onclick: () => call(true) }, 'Video call')),
          h('div', { class: 'field' }, h('label', { for: 'timer' }, 'Disappearing messages'), timerSelect))),
    older, log, typing, uploads, replyBar,
    h('form', { class: 'composer', id: 'composer', onsubmit: send },
      text, sendBtn,
      h('div', { class: 'tools' },
        h('label', { for: 'files' }, 'Attach files'), files,
        asFile, h('label', { for: 'as-file' }, 'Send images as files'),
        recordButton(app, sendForm)))) // voice.js

  // --- messages ---
  let oldest = 0
  // load draws the latest page of messages afresh (at the start and when
  // the event stream (re)opens). A page read before an event the page
  // showed meanwhile would wipe what the event drew: such a page is read
  // again (changes counts those events). Of overlapping loads only the
  // last one started draws.
  const reads = app.newest()
  let changes = 0
  async function load() {
    const fresh = reads()
    let page
    for (let tries = 0; ; tries++) {
      const seen = changes
      page = { messages: [], more: false }
      try {
        page = await app.api('GET', '/conversations/' + peer + '/messages?limit=50')
      } catch (e) {
        if (e.code !== 'not_found') throw e // not_found: nothing said yet
      }
      if (!alive || !fresh()) return
      // A stream of events keeps going: after a few tries the page drawn
      // is as fresh as any, and the events after it are drawn on it.
      if (seen === changes || tries >= 8) break
    }
    items.clear()
    list.replaceChildren()
    for (const m of page.messages) put(m)
    oldest = page.messages.length ? page.messages[0].local_id : 0
    older.hidden = !page.more
    scrollDown()
    markRead()
    el.dataset.loaded = 'true'
  }

  async function loadOlder() {
    const page = await app.api('GET', '/conversations/' + peer + '/messages?limit=50&before=' + oldest)
    const first = list.firstChild
    for (const m of page.messages) {
      if (items.has(m.local_id)) continue
      const li = render(m)
      items.set(m.local_id, li)
      list.insertBefore(li, first)
    }
    if (page.messages.length) oldest = page.messages[0].local_id
    older.hidden = !page.more
  }

  // put shows m: it replaces the message's row if there is one, else
  // adds it at its place by local ID (events may come out of order).
  function put(m) {
    const had = items.get(m.local_id)
    if (had && m.outgoing && (PROGRESS[had.dataset.status] || 0) > (PROGRESS[m.status] || 0)) {
      m = { ...m, status: had.dataset.status }
    }
    const li = render(m)
    items.set(m.local_id, li)
    if (had) {
      const refocus = focusKeeper(had, li)
      // A voice note the user started keeps its player (the audio,
      // where it is, the pause button) when its row is drawn again.
      for (const v of had.querySelectorAll('.voice-note')) {
        const a = v.querySelector('audio')
        const again = li.querySelector('.voice-note[data-index="' + v.dataset.index + '"]')
        if (again && a && a.src) again.replaceWith(v)
      }
      had.replaceWith(li)
      refocus()
      return
    }
    let after = null
    for (const [id, row] of items) if (id > m.local_id && (!after || id < Number(after.dataset.localId))) after = row
    list.insertBefore(li, after)
  }

  // focusKeeper: a row drawn again (an event, a reaction, a receipt) must
  // not take the keyboard's focus away; it returns what puts the focus
  // on the same control of the new row. Controls are matched by kind
  // (tag, classes, emoji, attachment) and rank among that kind, not by
  // position: a reaction added or taken away shifts every position after
  // it, and events may bring an older state of the row than the one on
  // screen. An open emoji picker moves over to the new row with its
  // focus (replies.js); a control the new row lacks leaves the focus on
  // the row, never on the page's body.
  function focusKeeper(old, li) {
    const picker = old.querySelector('.picker')
    const a = document.activeElement
    const had = !!a && old.contains(a)
    const sel = 'button, a[href], input, select, textarea, [tabindex]'
    const kind = e => [e.tagName, [...e.classList].filter(c => c !== 'mine').sort().join('.'), e.dataset.emoji || '',
      (e.closest('[data-index]') || { dataset: {} }).dataset.index || ''].join('/')
    let rank = -1
    if (had && a !== old && !(picker && picker.contains(a))) {
      rank = [...old.querySelectorAll(sel)].filter(e => kind(e) === kind(a)).indexOf(a)
    }
    return () => {
      const opener = picker && li.querySelector('button.react')
      if (opener) {
        opener.after(picker)
        opener.setAttribute('aria-expanded', 'true')
      }
      if (!had) return
      if (picker && picker.contains(a) && opener) return a.focus()
      const t = rank < 0 ? null : [...li.querySelectorAll(sel)].filter(e => kind(e) === kind(a))[rank]
      ;(t || li).focus()
    }
  }

  function render(m) {
    const out = m.outgoing
    const meta = h('div', { class: 'meta' }, h('time', { datetime: m.sent_at }, app.formatTime(m.sent_at)))
    if (out) {
      const [mark, words] = STATUS[m.status] || ['', m.status]
      meta.append(h('span', { class: 'status status-' + m.status, title: words, 'aria-label': words, dataset: { status: m.status } }, mark))
    }
    if (m.expires_at) {
      meta.append(h('span', { class: 'expires', title: 'Disappears at ' + new Date(m.expires_at).toLocaleString() }, '⏱ ' + app.formatTime(m.expires_at)))
    } else if (m.disappearing && m.disappearing !== 'off') {
      meta.append(h('span', { class: 'expires', title: 'Disappears ' + m.disappearing }, '⏱'))
    }
    if (out && m.status !== 'queued') {
      meta.append(armedAgain(m, h('button', { type: 'button', class: 'link unsend', onclick: ev => unsend(m, ev.currentTarget) }, 'Unsend')))
    }
    meta.append(armedAgain(m, h('button', { type: 'button', class: 'link delete', onclick: ev => del(m, ev.currentTarget) }, 'Delete for me')))
    if (m.status !== 'queued') {
      meta.append(h('button', { type: 'button', class: 'link reply', onclick: () => startReply(m) }, 'Reply'),
        h('button', { type: 'button', class: 'link react', 'aria-haspopup': 'true', 'aria-expanded': 'false',
          onclick: ev => openPicker(app, ev.currentTarget, e => react(m, e, mineOf(app, m, e))) }, 'React'))
    }
    const li = h('li', { class: 'msg ' + (out ? 'out' : 'in'), tabindex: '-1', dataset: { localId: String(m.local_id), id: m.id || '', status: m.status || '' } },
      isGroup && !out
        ? h('span', { class: 'sender sender-name', dataset: { sender: m.sender } }, senderName(m.sender) + ': ')
        : h('span', { class: 'visually-hidden sender' }, out ? 'You: ' : name + ': '),
      quoteBlock(app, m, whoIs, jumpTo),
      (m.attachments || []).map(a => a.voice ? voiceNote(app, m, a) : attachment(m, a)), // voice.js
      m.text ? h('div', { class: 'text' }, m.text) : null,
      previewCards(app, m), // chatextras.js
      reactionsBar(app, m, whoIs, react),
      meta)
    return li
  }

  function attachment(m, a) {
    const url = '/api/v1/messages/' + m.local_id + '/attachments/' + a.index
    const label = (a.file_name || 'attachment') + ' (' + app.formatBytes(a.size) + ')'
    const box = h('div', { class: 'attachment', dataset: { state: a.state, index: String(a.index) } })
    if (a.has_thumbnail) {
      // The daemon makes thumbnails itself (JPEG), whatever was sent.
      box.append(h('img', { class: 'thumb', src: url + '?thumbnail=1', alt: 'Preview of ' + (a.file_name || 'an image'), loading: 'lazy' }))
    }
    if (a.state === 'ready') {
      // download: the browser saves the file instead of showing it, and
      // the daemon serves anything but raster images as a download anyway.
      box.append(h('a', { href: url, download: a.file_name || 'attachment', class: 'file', rel: 'noopener' }, label))
    } else {
      box.append(h('span', { class: 'file' }, label + ' · ' + a.state))
      if (a.state === 'pending' || a.state === 'cleared' || a.state === 'failed') {
        box.append(h('button', { type: 'button', class: 'secondary fetch', onclick: () => fetchMedia(m) }, 'Download'))
      }
      const p = h('progress', { max: a.size || 1, value: 0, 'aria-label': 'Download of ' + (a.file_name || 'attachment') })
      if (a.state !== 'downloading') p.hidden = true
      transfers.set(m.local_id + '/' + a.index, p)
      box.append(p)
    }
    return box
  }

  // settle re-reads a message after its last transfer event until no
  // attachment is still downloading: the file counts as ready only once
  // verified whole, a moment after the last piece, and no event says so.
  async function settle(id) {
    for (let i = 0, wait = 100; i < 30 && alive; i++, wait = Math.min(wait * 2, 2000)) {
      try {
        const m = await app.api('GET', '/messages/' + id)
        if (!alive) return
        put(m)
        if (!(m.attachments || []).some(a => a.state === 'downloading')) return
      } catch (e) {
        return
      }
      await new Promise(r => setTimeout(r, wait))
    }
  }

  async function fetchMedia(m) {
    try {
      put(await app.api('POST', '/messages/' + m.local_id + '/fetch'))
    } catch (e) { app.error(e) }
  }

  // confirmFirst makes a button act on its second press, saying first
  // what it will do (no modal dialog: it stays in the keyboard's flow).
  // The armed state lives here, by message and button, so an event that
  // draws the row again between the presses keeps it (armedAgain).
  const armed = new Map() // "local_id/class" → the question
  const armKey = (m, btn) => m.local_id + '/' + btn.className
  function confirmFirst(btn, question, m) {
    if (btn.dataset.armed === 'true') {
      armed.delete(armKey(m, btn))
      return true
    }
    armed.set(armKey(m, btn), question)
    btn.dataset.armed = 'true'
    btn.textContent = question
    return false
  }
  function armedAgain(m, btn) {
    const question = armed.get(armKey(m, btn))
    if (question) {
      btn.dataset.armed = 'true'
      btn.textContent = question
    }
    return btn
  }

  async function unsend(m, btn) {
    if (!confirmFirst(btn, 'Unsend for everyone?', m)) return
    try {
      await app.api('POST', '/messages/' + m.local_id + '/unsend')
      remove(m.local_id)
    } catch (e) { app.error(e) }
  }

  async function del(m, btn) {
    if (!confirmFirst(btn, 'Delete here? (they keep it)', m)) return
    try {
      await app.api('DELETE', '/messages/' + m.local_id)
      remove(m.local_id)
    } catch (e) { app.error(e) }
  }

  function remove(id) {
    gone.add(id)
    const li = items.get(id)
    if (li) li.remove()
    items.delete(id)
    if (replyTo && replyTo.local_id === id) cancelReply()
  }

  // --- replies and reactions (replies.js) ---
  function startReply(m) {
    replyTo = m
    replyBar.replaceChildren(
      h('span', {}, 'Replying to ' + whoIs(m.sender) + ': '),
      h('span', { class: 'quote-text' }, m.text || '(attachment)'),
      h('button', { type: 'button', class: 'link', id: 'reply-cancel', onclick: cancelReply }, 'Cancel reply'))
    replyBar.hidden = false
    text.focus()
  }
  function cancelReply() {
    replyTo = null
    replyBar.hidden = true
    replyBar.replaceChildren()
  }
  async function react(m, emoji, remove) {
    try {
      const had = document.activeElement && items.get(m.local_id) && items.get(m.local_id).contains(document.activeElement)
      put(await app.api('POST', '/messages/' + m.local_id + '/reactions', { emoji, remove }))
      // The row was drawn again: the keyboard stays where it was.
      const li = items.get(m.local_id)
      if (had && li) li.querySelector('.react').focus()
    } catch (e) { app.error(e) }
  }
  // jumpTo shows the message with local ID id: loads older pages until
  // it is there, scrolls to it and gives it the focus.
  async function jumpTo(id) {
    for (let i = 0; i < 20 && !items.has(id) && !older.hidden; i++) await loadOlder()
    const li = items.get(id)
    if (!li) {
      app.toast('That message is no longer here.')
      return
    }
    li.scrollIntoView({ block: 'center' })
    li.classList.add('flash')
    setTimeout(() => li.classList.remove('flash'), 2000)
    li.focus()
  }

  function scrollDown() { list.scrollTop = list.scrollHeight }

  // One "mark read" at a time; a message that comes in meanwhile may be
  // newer than what the one under way marks, so it runs once more after.
  let reading = false
  let readAgain = false
  async function markRead() {
    if (document.hidden) return
    if (reading) {
      readAgain = true
      return
    }
    const unread = [...items.values()].some(li => li.classList.contains('in') && li.dataset.status === 'received')
    if (!unread) return
    reading = true
    try {
      await app.api('POST', '/conversations/' + peer + '/read')
    } catch (e) { /* a later event tries again */ } finally {
      reading = false
      if (readAgain && alive) {
        readAgain = false
        markRead()
      }
    }
  }

  // --- calls (call.js does the rest) ---
  async function call(video) {
    const mod = await import('./call.js')
    await mod.startCall(app, peer, video)
  }

  // --- timer ---
  // A change made while the timer is read retires the read (app.newest):
  // its older answer would show the old timer.
  const timerReads = app.newest()
  async function loadTimer() {
    if (isGroup) return
    const fresh = timerReads()
    try {
      const t = await app.api('GET', '/conversations/' + peer + '/timer')
      if (fresh()) showTimer(t)
    } catch (e) { /* a conversation not started yet has the default */ }
  }
  function showTimer(t) {
    let i = TIMERS.findIndex(([mode, ns]) => mode === t.mode && (mode === 'off' || ns === t.after_ns))
    if (i < 0) {
      TIMERS.push([t.mode, t.after_ns, t.mode + ' ' + Math.round(t.after_ns / 60e9) + ' min'])
      i = TIMERS.length - 1
      timerSelect.append(h('option', { value: String(i) }, TIMERS[i][2]))
    }
    timerSelect.value = String(i)
  }
  async function setTimer() {
    const [mode, ns] = TIMERS[Number(timerSelect.value)]
    const fresh = timerReads()
    try {
      const t = await app.api('PUT', '/conversations/' + peer + '/timer', { mode, after_ns: ns })
      if (fresh()) showTimer(t)
      app.toast('Disappearing messages: ' + TIMERS[Number(timerSelect.value)][2] + '.')
    } catch (e) { app.error(e) }
  }

  // --- composing ---
  let typingSent = 0
  let idleTimer = 0
  function composing() {
    clearTimeout(idleTimer)
    if (!text.value) {
      stopTyping()
      return
    }
    const now = Date.now()
    if (now - typingSent > TYPING_REFRESH) {
      typingSent = now
      app.api('POST', '/conversations/' + peer + '/typing', { typing: true }).catch(() => {})
    }
    idleTimer = setTimeout(stopTyping, TYPING_IDLE)
  }
  function stopTyping() {
    clearTimeout(idleTimer)
    if (!typingSent) return
    typingSent = 0
    app.api('POST', '/conversations/' + peer + '/typing', { typing: false }).catch(() => {})
  }

  function keydown(ev) {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault()
      el.querySelector('#composer').requestSubmit()
    }
  }

  let uploading = null
  async function send(ev) {
    ev.preventDefault()
    const body = text.value
    const chosen = [...files.files]
    if (!body.trim() && chosen.length === 0) return
    stopTyping()
    sendBtn.disabled = true
    let req = { text: body }
    let path = '/conversations/' + peer + '/messages'
    if (replyTo && !chosen.length) path = '/messages/' + replyTo.local_id + '/reply'
    if (chosen.length) {
      req = new FormData()
      req.append('text', body)
      if (asFile.checked) req.append('as_file', 'true')
      for (const f of chosen) req.append('file', f, f.name)
      const p = h('progress', { id: 'upload-progress', max: 1, value: 0, 'aria-label': 'Upload' })
      uploading = p
      uploads.replaceChildren(h('div', { class: 'attachment uploading' },
        h('span', {}, 'Sending ' + chosen.map(f => f.name).join(', ')), p))
    }
    try {
      const m = await app.api('POST', path, req)
      if (uploading) uploading.value = uploading.max
      text.value = ''
      cancelReply()
      files.value = ''
      if (alive) {
        put(m)
        scrollDown()
      }
    } catch (e) {
      app.error(e)
    } finally {
      sendBtn.disabled = false
      uploading = null
      uploads.replaceChildren()
      text.focus()
    }
  }

  // sendForm sends a recorded voice note (voice.js).
  async function sendForm(form) {
    try {
      const m = await app.api('POST', '/conversations/' + peer + '/messages', form)
      if (alive) {
        put(m)
        scrollDown()
      }
    } catch (e) { app.error(e) }
  }

  // --- events ---
  const mine = m => m && m.peer === peer
  let typingTimer = 0
  const offs = [
    app.on('message', m => {
      if (!mine(m)) return
      changes++
      const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40
      put(m)
      if (atEnd || !m.outgoing) scrollDown()
      if (!m.outgoing) {
        typing.textContent = ''
        markRead()
      }
    }),
    // A status may come before the row is drawn (a send's receipt before
    // the send's answer): a message newer than the oldest shown is drawn.
    app.on('status', m => { if (mine(m) && (items.has(m.local_id) || (m.local_id >= oldest && !gone.has(m.local_id)))) { changes++; put(m) } }),
    app.on('unsent', m => { if (mine(m)) { changes++; remove(m.local_id) } }),
    app.on('reaction', m => { if (mine(m) && items.has(m.local_id)) { changes++; put(m) } }),
    app.on('typing', t => {
      if (t.peer !== peer) return
      clearTimeout(typingTimer)
      typing.textContent = t.typing ? (isGroup && t.from ? senderName(t.from) : name) + ' is typing…' : ''
      // A "started" not renewed within 15 s is over.
      if (t.typing) typingTimer = setTimeout(() => { typing.textContent = '' }, 16000)
    }),
    app.on('transfer', t => {
      if (t.up && t.local_id === 0 && uploading) {
        uploading.max = t.total || 1
        uploading.value = t.done
        return
      }
      const p = transfers.get(t.local_id + '/' + t.index)
      if (!p) return
      p.hidden = false
      p.max = t.total || 1
      p.value = t.done
      if (t.total && t.done >= t.total) settle(t.local_id)
    }),
    app.on('open', () => { (isGroup ? loadSenders().catch(() => {}) : Promise.resolve()).then(load).catch(app.error) }),
  ]
  const visible = () => { if (!document.hidden) markRead() }
  document.addEventListener('visibilitychange', visible)

  if (isGroup) await loadSenders().catch(() => {})
  await Promise.all([load(), loadTimer()])
  // A load the event stream's opening started meanwhile retired this
  // one: the screen counts as shown once a load has drawn it.
  while (alive && !el.dataset.loaded) await load()
  text.focus()
  return () => {
    alive = false
    stopTyping()
    clearTimeout(typingTimer)
    document.removeEventListener('visibilitychange', visible)
    offs.forEach(off => off())
  }
}
