// call.js: voice and video calls (issue 20, DESIGN.md §9). The browser is
// the call's media engine: its RTCPeerConnection takes its ICE servers and
// transport policy from the daemon (policy "relay" in relay-only mode, so
// the browser gathers relay candidates only and no address of this
// machine ever leaves it), and its SDP and candidates travel through the
// API; the other side's come back as call_signal events. The daemon and
// the library do the signaling; nothing here talks to the network itself.
//
// One call at a time lives in this module (modules are loaded once), so
// moving to another screen during a call keeps it going; the call screen
// (#/call/ID) shows it: ringing out, ringing in (accept or decline), in
// the call (mute, camera off, hang up, the timer) and ended.
import { peerName } from '../names.js'

const END_WORDS = {
  hangup: 'The call ended.',
  declined: 'The call was declined.',
  busy: 'They are in another call.',
  timeout: 'No answer.',
  unavailable: 'They are not taking calls (calls are off on their side, or they are not reachable).',
  'answered-elsewhere': 'You answered on another device.',
  failed: 'The call could not be connected.',
}

// How long local candidates gather before they go out as one batch: each
// batch is a message through the network.
const CANDIDATE_BATCH_MS = 150

let appRef = null
let cur = null    // the call under way: see newCall
let view = null   // the mounted screen's redraw function, while mounted

function newCall(call, video) {
  return {
    call,                 // the API's call, as last heard
    video,                // whether this side sends video
    pc: null,
    local: null,          // the local MediaStream
    remote: new MediaStream(),
    muted: false,
    cameraOff: false,
    connectedAt: 0,       // when the connection first reached "connected"
    connection: 'new',
    sdpSent: null,        // resolves once the offer or answer is out
    outCands: [],         // local candidates waiting for their batch
    batchTimer: 0,
    inCands: [],          // remote candidates waiting for the remote description
    seen: new Set(),      // remote candidates already applied
    answering: false,
    gotAnswer: false,     // the caller applies the callee's answer once
    error: '',
  }
}

// watch follows calls from app.js: an incoming call opens the ringing
// view, whatever screen is shown.
export function watch(app) {
  appRef = app
  app.on('call', onCall)
  app.on('call_signal', onSignal)
  app.on('open', async () => {
    // Events may have been missed: a call that rings now still shows,
    // and the call under way gets its state and the signals that came
    // while the stream was closed (an answer missed would leave it
    // ringing; candidates are applied once each, see applyCandidates).
    try {
      const calls = await app.api('GET', '/calls')
      for (const c of calls) onCall(c)
      const k = cur
      if (k && k.call.state !== 'ended') {
        const { signals, ...c } = await app.api('GET', '/calls/' + encodeURIComponent(k.call.id))
        onCall(c)
        for (const s of signals || []) await onSignal(Object.assign({}, s, { call_id: c.id }))
      }
    } catch (e) { /* locked meanwhile, or the call is over */ }
  })
}

function onCall(c) {
  if (!cur || cur.call.id !== c.id) {
    if (c.state !== 'incoming' || (cur && cur.call.state !== 'ended')) return
    cur = newCall(c, false)
    appRef.go('#/call/' + c.id)
    redraw()
    ringNotice()
    return
  }
  cur.call = c
  if (c.state === 'ended') teardown()
  redraw()
}

// ringNotice shows a desktop notification of a ringing call while the page
// is out of sight (when the user allowed them). It names no one: the OS
// keeps notifications in its history.
function ringNotice() {
  if (!document.hidden || !('Notification' in window) || Notification.permission !== 'granted') return
  const note = new Notification('hush', { body: 'Incoming call', tag: 'hush-call' })
  note.onclick = () => window.focus()
}

async function onSignal(s) {
  if (!cur || s.call_id !== cur.call.id) return
  const k = cur
  try {
    // An answer comes once, but a stream that reopened reads it again
    // (flagged before the await: the two may overlap).
    if (s.type === 'answer' && k.pc && !k.call.incoming && !k.gotAnswer) {
      k.gotAnswer = true
      await k.pc.setRemoteDescription({ type: 'answer', sdp: s.sdp })
      await applyCandidates(k)
    } else if (s.type === 'candidates') {
      k.inCands.push(...(s.candidates || []))
      await applyCandidates(k)
    } else if (s.type === 'end') {
      k.call = Object.assign({}, k.call, { state: 'ended' })
      teardown()
      redraw()
    }
    // An "offer" is read from the call's signals when the user answers.
  } catch (e) {
    fail(k, e)
  }
}

// applyCandidates adds the remote candidates that came in, once the remote
// description is set (before it, the browser cannot take them).
async function applyCandidates(k) {
  if (!k.pc || !k.pc.remoteDescription) return
  const list = k.inCands.splice(0)
  for (const c of list) {
    if (!c || !c.candidate || k.seen.has(c.candidate)) continue
    k.seen.add(c.candidate)
    try {
      await k.pc.addIceCandidate({ candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex })
    } catch (e) {
      console.warn('a remote candidate was refused', e)
    }
  }
}

// peerConnection builds the call's RTCPeerConnection with the daemon's
// ICE servers and policy, and the local media.
async function peerConnection(k, video) {
  const ice = await appRef.api('GET', '/calls/ice-servers')
  const pc = new RTCPeerConnection({
    iceServers: ice.ice_servers.map(s => ({ urls: s.urls, username: s.username, credential: s.credential })),
    iceTransportPolicy: ice.ice_transport_policy === 'all' ? 'all' : 'relay',
  })
  k.pc = pc
  k.policy = ice.ice_transport_policy
  pc.onicecandidate = (ev) => {
    if (!ev.candidate || !ev.candidate.candidate) return
    k.outCands.push({ candidate: ev.candidate.candidate, sdpMid: ev.candidate.sdpMid || '', sdpMLineIndex: ev.candidate.sdpMLineIndex || 0 })
    if (!k.batchTimer) k.batchTimer = setTimeout(() => flushCandidates(k), CANDIDATE_BATCH_MS)
  }
  pc.ontrack = (ev) => {
    k.remote.addTrack(ev.track)
    redraw()
  }
  pc.onconnectionstatechange = () => {
    k.connection = pc.connectionState
    if (pc.connectionState === 'connected' && !k.connectedAt) {
      k.connectedAt = Date.now()
      // The library's call becomes active (other programs see it so).
      appRef.api('POST', '/calls/' + k.call.id + '/connected').catch(() => {})
    }
    if (pc.connectionState === 'failed' && cur === k) hangUp('failed')
    redraw()
  }
  k.local = await navigator.mediaDevices.getUserMedia({ audio: true, video })
  for (const t of k.local.getTracks()) pc.addTrack(t, k.local)
  return pc
}

async function flushCandidates(k) {
  k.batchTimer = 0
  await k.sdpSent // candidates before the offer or answer would be refused
  const batch = k.outCands.splice(0, 32)
  if (!batch.length || cur !== k || k.call.state === 'ended') return
  try {
    await appRef.api('POST', '/calls/' + k.call.id + '/candidates', { candidates: batch })
  } catch (e) {
    console.warn('candidates not sent', e)
  }
  if (k.outCands.length && !k.batchTimer) k.batchTimer = setTimeout(() => flushCandidates(k), 0)
}

// startCall calls peer (an Account ID) from the conversation view.
export async function startCall(app, peer, video) {
  appRef = app
  if (cur && cur.call.state !== 'ended') {
    app.go('#/call/' + cur.call.id)
    return
  }
  let call
  try {
    call = await app.api('POST', '/calls', { peer })
  } catch (e) {
    if (e.code === 'calls_off') app.toast('Calls are off. Turn them on in Settings first (read what they reveal).', 'error')
    else app.error(e)
    return
  }
  const k = newCall(call, video)
  cur = k
  app.go('#/call/' + call.id)
  let sent
  k.sdpSent = new Promise(r => { sent = r })
  try {
    const pc = await peerConnection(k, video)
    await pc.setLocalDescription(await pc.createOffer())
    await app.api('POST', '/calls/' + call.id + '/offer', { sdp: pc.localDescription.sdp })
    sent()
  } catch (e) {
    sent()
    fail(k, e)
  }
  redraw()
}

async function accept(video) {
  const k = cur
  if (!k || k.answering) return
  k.answering = true
  k.video = video
  redraw()
  let sent
  k.sdpSent = new Promise(r => { sent = r })
  try {
    // The offer (and any candidates so far) from the daemon's record:
    // it may have come before this page was open.
    let full = await appRef.api('GET', '/calls/' + k.call.id)
    let offer = full.signals.find(s => s.type === 'offer')
    for (let i = 0; !offer && i < 50 && cur === k; i++) {
      await new Promise(r => setTimeout(r, 200))
      full = await appRef.api('GET', '/calls/' + k.call.id)
      offer = full.signals.find(s => s.type === 'offer')
    }
    if (!offer) throw new Error('the caller sent no offer')
    for (const s of full.signals) if (s.type === 'candidates') k.inCands.push(...(s.candidates || []))
    const pc = await peerConnection(k, video)
    await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp })
    await applyCandidates(k)
    await pc.setLocalDescription(await pc.createAnswer())
    await appRef.api('POST', '/calls/' + k.call.id + '/answer', { sdp: pc.localDescription.sdp })
    sent()
  } catch (e) {
    sent()
    fail(k, e)
  }
  redraw()
}

async function hangUp(reason) {
  const k = cur
  if (!k) return
  try {
    const c = await appRef.api('POST', '/calls/' + k.call.id + '/end', { reason })
    if (cur === k) k.call = c
  } catch (e) {
    if (e.code !== 'no_call') appRef.error(e)
  }
  if (k.call.state !== 'ended') k.call = Object.assign({}, k.call, { state: 'ended', end_reason: reason })
  teardown()
  redraw()
}

function fail(k, e) {
  console.error(e)
  k.error = (e && e.message) || String(e)
  if (cur === k && k.call.state !== 'ended') hangUp('failed')
}

// teardown stops the media and the connection; the call stays in cur
// (ended) so its screen can say how it ended.
function teardown() {
  const k = cur
  if (!k) return
  clearTimeout(k.batchTimer)
  if (k.local) k.local.getTracks().forEach(t => t.stop())
  if (k.pc) k.pc.close()
  k.pc = null
}

function setMuted(on) {
  cur.muted = on
  if (cur.local) cur.local.getAudioTracks().forEach(t => { t.enabled = !on })
  redraw()
}

function setCameraOff(on) {
  cur.cameraOff = on
  if (cur.local) cur.local.getVideoTracks().forEach(t => { t.enabled = !on })
  redraw()
}

function redraw() { if (view) view() }

function clock(ms) {
  const s = Math.floor(ms / 1000)
  const mm = String(Math.floor(s / 60) % 60).padStart(2, '0')
  const ss = String(s % 60).padStart(2, '0')
  return (s >= 3600 ? Math.floor(s / 3600) + ':' : '') + mm + ':' + ss
}

// inboundAudio sums the call's inbound audio RTP (tests and the in-call
// view's "no sound" hint): {packets, bytes}.
export async function inboundAudio() {
  const out = { packets: 0, bytes: 0 }
  if (!cur || !cur.pc) return out
  const stats = await cur.pc.getStats()
  stats.forEach(r => {
    if (r.type === 'inbound-rtp' && r.kind === 'audio') {
      out.packets += r.packetsReceived || 0
      out.bytes += r.bytesReceived || 0
    }
  })
  return out
}

// selectedPair returns the candidate types of the call's selected ICE
// pair ({local: 'relay', remote: 'relay'}), or null while there is none:
// in relay-only mode both are relays.
export async function selectedPair() {
  if (!cur || !cur.pc) return null
  const stats = await cur.pc.getStats()
  let pair = null
  stats.forEach(r => {
    if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId)
  })
  if (!pair) stats.forEach(r => { if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') pair = r })
  if (!pair) return null
  const l = stats.get(pair.localCandidateId), rm = stats.get(pair.remoteCandidateId)
  return { local: l && l.candidateType, remote: rm && rm.candidateType }
}

export async function mount(el, app) {
  appRef = app
  const h = app.h
  const id = app.route.arg
  if (!cur || cur.call.id !== id) {
    // Opened by its address (a reload, another tab): the call as the
    // daemon knows it. A reloaded page lost its media: it can only end it.
    try {
      const c = await app.api('GET', '/calls/' + encodeURIComponent(id))
      if (!cur || cur.call.state === 'ended') {
        cur = newCall(c, false)
      } else {
        el.append(h('h1', { id: 'title-call' }, 'Call'), h('p', {}, 'Another call is under way.'),
          h('p', {}, h('a', { href: '#/call/' + cur.call.id }, 'Back to that call')))
        el.dataset.state = 'other'
        return
      }
    } catch (e) {
      el.append(h('h1', { id: 'title-call' }, 'Call'), h('p', {}, 'There is no such call; it may be over.'),
        h('p', {}, h('a', { href: '#/chats' }, 'Back to the chats')))
      el.dataset.state = 'none'
      return
    }
  }
  let name = app.shortID(cur.call.peer)
  try {
    const cs = await app.api('GET', '/contacts')
    const ct = cs.find(c => c.id === cur.call.peer)
    if (ct) name = peerName(ct, app)
  } catch (e) { /* the ID will do */ }

  const title = h('h1', { id: 'title-call' })
  const status = h('p', { id: 'call-status', role: 'status', 'aria-live': 'polite' })
  const timer = h('p', { id: 'call-timer', class: 'call-timer', role: 'timer', 'aria-label': 'Call duration' })
  const remoteVideo = h('video', { id: 'call-remote', class: 'call-remote', autoplay: true, playsinline: true, 'aria-label': 'The other side' })
  const localVideo = h('video', { id: 'call-local', class: 'call-local', autoplay: true, playsinline: true, muted: true, 'aria-label': 'Your camera' })
  localVideo.muted = true
  const media = h('div', { class: 'call-media' }, remoteVideo, localVideo)
  const actions = h('div', { class: 'actions call-actions' })
  const detail = h('p', { class: 'muted', id: 'call-detail' })
  el.append(title, status, timer, media, actions, detail)
  let shownState = ''

  function draw() {
    const k = cur
    if (!k || k.call.id !== id) return
    const st = k.call.state
    el.dataset.state = st
    el.dataset.connection = k.connection
    if (k.pc && remoteVideo.srcObject !== k.remote) remoteVideo.srcObject = k.remote
    if (k.local && localVideo.srcObject !== k.local) localVideo.srcObject = k.local
    media.hidden = st === 'ended' || (!k.local && !k.remote.getTracks().length)
    localVideo.hidden = !k.video
    remoteVideo.hidden = !k.remote.getVideoTracks().length
    if (st === 'ended') {
      title.textContent = 'Call with ' + name
      status.textContent = END_WORDS[k.call.end_reason] || 'The call ended.'
      timer.textContent = k.connectedAt ? 'Lasted ' + clock((k.endedAt || (k.endedAt = Date.now())) - k.connectedAt) : ''
      detail.textContent = k.error ? 'What went wrong: ' + k.error : ''
    } else if (st === 'incoming' && !k.answering) {
      title.textContent = name + ' is calling'
      status.textContent = 'Incoming call from ' + name + '.'
      timer.textContent = ''
      detail.textContent = 'Answering uses your microphone' + ' (and your camera for a video answer). ' +
        (k.policy === 'all' ? '' : 'In relay-only mode the caller does not learn your IP address; the relay server does.')
    } else if (st === 'outgoing') {
      title.textContent = 'Calling ' + name
      status.textContent = 'Ringing…'
      timer.textContent = ''
      detail.textContent = 'The call rings for up to a minute.'
    } else {
      title.textContent = 'In a call with ' + name
      status.textContent = k.connection === 'connected' ? 'Connected.' : 'Connecting…'
      detail.textContent = k.policy === 'relay' ? 'Through the relay server: the other side does not learn your IP address.' : ''
    }
    if (shownState !== st + '/' + k.answering + '/' + k.muted + '/' + k.cameraOff) {
      shownState = st + '/' + k.answering + '/' + k.muted + '/' + k.cameraOff
      drawActions(k, st)
    }
    tick()
  }

  function drawActions(k, st) {
    const had = document.activeElement && actions.contains(document.activeElement) ? document.activeElement.id : ''
    const list = []
    if (st === 'incoming' && !k.answering) {
      list.push(h('button', { type: 'button', id: 'call-accept', onclick: () => accept(false) }, 'Answer'),
        h('button', { type: 'button', id: 'call-accept-video', class: 'secondary', onclick: () => accept(true) }, 'Answer with video'),
        h('button', { type: 'button', id: 'call-decline', class: 'danger', onclick: () => hangUp('declined') }, 'Decline'))
    } else if (st !== 'ended') {
      list.push(h('button', { type: 'button', id: 'call-mute', class: 'secondary', 'aria-pressed': String(k.muted), onclick: () => setMuted(!k.muted) },
        k.muted ? 'Unmute' : 'Mute'))
      if (k.video) {
        list.push(h('button', { type: 'button', id: 'call-camera', class: 'secondary', 'aria-pressed': String(k.cameraOff), onclick: () => setCameraOff(!k.cameraOff) },
          k.cameraOff ? 'Camera on' : 'Camera off'))
      }
      list.push(h('button', { type: 'button', id: 'call-hangup', class: 'danger', onclick: () => hangUp('hangup') }, 'Hang up'))
    } else {
      list.push(h('a', { href: '#/chat/' + k.call.peer, class: 'button secondary', id: 'call-back' }, 'Back to the conversation'))
    }
    actions.replaceChildren(...list)
    const again = had && document.getElementById(had)
    if (again) again.focus()
    else if (list[0] && !el.contains(document.activeElement)) list[0].focus()
  }

  function tick() {
    const k = cur
    if (!k || k.call.id !== id || k.call.state === 'ended') return
    timer.textContent = k.connectedAt ? clock(Date.now() - k.connectedAt) : ''
  }

  view = draw
  const every = setInterval(tick, 1000)
  draw()
  el.dataset.loaded = 'true'
  return () => {
    clearInterval(every)
    if (view === draw) view = null
  }
}
