// voice: voice notes in a conversation (issue 22). A voice note's row is
// a play button, its waveform (the sender's peak levels, drawn as bars)
// and its duration; the audio is fetched from the daemon only when played
// and handed to an <audio> element as a blob of the claimed audio type.
// The record button records the microphone with MediaRecorder, measures
// the recording (duration, and peaks where the browser decodes it) and
// sends it as a voice note.

const BARS = 64

function clock(ms) {
  const s = Math.round((ms || 0) / 1000)
  return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0')
}

function b64bytes(s) {
  if (!s) return []
  const bin = atob(s)
  const out = new Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}

// voiceNote renders attachment a of message m as a player.
export function voiceNote(app, m, a) {
  const h = app.h
  const url = '/api/v1/messages/' + m.local_id + '/attachments/' + a.index
  const levels = b64bytes(a.waveform)
  const wave = h('span', { class: 'waveform', 'aria-hidden': 'true' },
    levels.map(v => h('span', { class: 'bar', dataset: { level: String(Math.round(v / 255 * 8)) } })))
  const time = h('span', { class: 'voice-time' }, clock(a.duration_ms))
  const audio = h('audio', { preload: 'none' })
  const btn = h('button', { type: 'button', class: 'secondary voice-play', 'aria-label': 'Play voice note, ' + clock(a.duration_ms) }, '▶')
  const box = h('div', { class: 'attachment voice-note', dataset: { state: a.state, index: String(a.index), durationMs: String(a.duration_ms || 0), playing: 'false' } },
    btn, wave, time, audio)
  let loaded = false
  btn.addEventListener('click', async () => {
    try {
      if (!audio.paused) {
        audio.pause()
        return
      }
      if (!loaded) {
        // The row's state may be older than the daemon's (a download
        // under way or done since it was drawn): a file not there yet is
        // fetched (which waits for a download in progress) and asked for
        // again, a few times, before the click counts as failed.
        let blob = null
        for (let i = 0; !blob; i++) {
          if (a.state !== 'ready' || i > 0) await app.api('POST', '/messages/' + m.local_id + '/fetch')
          try {
            blob = await app.api('GET', url)
          } catch (e) {
            if (e.code !== 'not_downloaded' || i >= 3) throw e
          }
        }
        // The daemon serves audio as a download; the player gets it as
        // the audio type the sender claimed, played from memory.
        audio.src = URL.createObjectURL(new Blob([blob], { type: a.mime || 'audio/wav' }))
        loaded = true
      }
      await audio.play()
    } catch (e) { app.error(e) }
  })
  audio.addEventListener('play', () => {
    box.dataset.playing = 'true'
    btn.textContent = '❚❚'
    btn.setAttribute('aria-label', 'Pause voice note')
  })
  const stopped = () => {
    box.dataset.playing = 'false'
    btn.textContent = '▶'
    btn.setAttribute('aria-label', 'Play voice note, ' + clock(a.duration_ms))
  }
  audio.addEventListener('pause', stopped)
  audio.addEventListener('ended', () => {
    stopped()
    box.dataset.played = 'true'
  })
  audio.addEventListener('timeupdate', () => {
    time.textContent = clock(audio.currentTime * 1000) + ' / ' + clock(a.duration_ms)
  })
  return box
}

// recordButton returns the composer's record button: the first press
// starts recording, the second stops it and sends the note with send(form)
// (a FormData for the messages endpoint).
export function recordButton(app, send) {
  const h = app.h
  const btn = h('button', { type: 'button', class: 'secondary', id: 'record', 'aria-pressed': 'false' }, 'Record voice note')
  let rec = null
  let chunks = []
  let started = 0
  btn.addEventListener('click', async () => {
    if (rec) {
      rec.stop()
      return
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true })
      chunks = []
      rec = new MediaRecorder(stream)
      rec.ondataavailable = ev => { if (ev.data.size) chunks.push(ev.data) }
      rec.onstop = async () => {
        stream.getTracks().forEach(t => t.stop())
        const ms = Date.now() - started
        rec = null
        btn.textContent = 'Record voice note'
        btn.setAttribute('aria-pressed', 'false')
        const type = (chunks[0] && chunks[0].type) || 'audio/webm'
        const blob = new Blob(chunks, { type })
        const form = new FormData()
        form.append('text', '')
        form.append('voice', 'true')
        form.append('duration_ms', String(Math.max(1, Math.round(ms))))
        form.append('waveform', btoa(String.fromCharCode(...await peaks(blob))))
        form.append('file', blob, type.includes('ogg') ? 'voice.ogg' : 'voice.webm')
        await send(form)
      }
      rec.start(250)
      started = Date.now()
      btn.textContent = 'Stop and send'
      btn.setAttribute('aria-pressed', 'true')
    } catch (e) {
      rec = null
      app.error(e)
    }
  })
  return btn
}

// peaks returns up to BARS peak levels (0–255) of the recording, or a
// flat line where the browser cannot decode it.
async function peaks(blob) {
  try {
    const ctx = new OfflineAudioContext(1, 1, 48000)
    const buf = await ctx.decodeAudioData(await blob.arrayBuffer())
    const data = buf.getChannelData(0)
    const n = Math.min(BARS, data.length)
    const out = new Array(n).fill(0)
    for (let i = 0; i < data.length; i++) {
      const b = Math.floor(i * n / data.length)
      const v = Math.abs(data[i])
      if (v > out[b]) out[b] = v
    }
    return out.map(v => Math.round(Math.min(v, 1) * 255))
  } catch (e) {
    return new Array(BARS).fill(128)
  }
}
