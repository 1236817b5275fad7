/**
 * Camera and microphone access, with failures turned into plain advice.
 *
 * Owns: `getUserMedia` with fallbacks (audio+video, then audio only, then video only, then
 * nothing: a commune with a broken camera still joins to see and hear), the mapping of
 * `DOMException` names to i18n keys that tell the user what to do, device listing, and
 * opening one track for a device switch. No DOM beyond `MediaStream`s.
 */

/** @typedef {'audio' | 'video'} MediaKind */

/**
 * Why a device could not be used. `key` is an i18n key (`device.<reason>.<kind>`).
 * @typedef {object} DeviceProblem
 * @property {MediaKind | 'both'} kind
 * @property {string} reason one of denied, notFound, busy, constraint, security, insecure,
 *   unsupported, unknown
 * @property {string} key
 */

/**
 * @typedef {object} LocalMedia
 * @property {MediaStream | null} stream what could be opened, null when nothing
 * @property {DeviceProblem[]} problems empty when both devices work
 */

/** What we ask the camera for: enough pixels for three simulcast layers (Chromium sends
 * fewer layers below ~960×540), and a frame rate an old PC can encode. */
const VIDEO_CONSTRAINTS = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 25, max: 30 } };
const AUDIO_CONSTRAINTS = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

/**
 * The reason behind a getUserMedia failure, from the exception's name (old Chromium names
 * included, since commune PCs run old browsers).
 * @param {unknown} error
 * @returns {string}
 */
export function reasonOf(error) {
  const name = error instanceof Error || (typeof error === 'object' && error !== null && 'name' in error)
    ? String(/** @type {{name: unknown}} */ (error).name)
    : '';
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
      return 'denied';
    case 'NotFoundError':
    case 'DevicesNotFoundError':
      return 'notFound';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'busy';
    case 'OverconstrainedError':
    case 'ConstraintNotSatisfiedError':
      return 'constraint';
    case 'SecurityError':
      return 'security';
    default:
      return 'unknown';
  }
}

/**
 * One problem per failed device, merged into one `both` problem when they failed alike.
 * @param {unknown} audioError null when the microphone works
 * @param {unknown} videoError null when the camera works
 * @returns {DeviceProblem[]}
 */
export function problemsFor(audioError, videoError) {
  const audio = audioError == null ? null : reasonOf(audioError);
  const video = videoError == null ? null : reasonOf(videoError);
  if (audio && audio === video) return [problem('both', audio)];
  /** @type {DeviceProblem[]} */
  const out = [];
  if (audio) out.push(problem('audio', audio));
  if (video) out.push(problem('video', video));
  return out;
}

/**
 * @param {MediaKind | 'both'} kind
 * @param {string} reason
 * @returns {DeviceProblem}
 */
export function problem(kind, reason) {
  return { kind, reason, key: `device.${reason}.${kind}` };
}

/**
 * Opens what works of camera and microphone.
 * @param {{audioDeviceId?: string | null, videoDeviceId?: string | null}} [choice]
 * @param {MediaDevices | undefined} [mediaDevices] injectable for tests
 * @returns {Promise<LocalMedia>}
 */
export async function openLocalMedia(choice = {}, mediaDevices = globalThis.navigator?.mediaDevices) {
  if (!mediaDevices?.getUserMedia) {
    // Browsers hide `mediaDevices` entirely on plain-http pages.
    const reason = globalThis.isSecureContext === false ? 'insecure' : 'unsupported';
    return { stream: null, problems: [problem('both', reason)] };
  }
  const audio = audioConstraints(choice.audioDeviceId);
  const video = videoConstraints(choice.videoDeviceId);
  /** @param {MediaStreamConstraints} c */
  const attempt = (c) => mediaDevices.getUserMedia(c).then(
    (stream) => ({ stream, error: null }),
    (error) => ({ stream: null, error }),
  );

  const both = await attempt({ audio, video });
  if (both.stream) return { stream: both.stream, problems: [] };
  const audioOnly = await attempt({ audio });
  if (audioOnly.stream) {
    // The microphone works, so the combined failure was the camera's.
    return { stream: audioOnly.stream, problems: problemsFor(null, both.error) };
  }
  const videoOnly = await attempt({ video });
  if (videoOnly.stream) return { stream: videoOnly.stream, problems: problemsFor(audioOnly.error, null) };
  return { stream: null, problems: problemsFor(audioOnly.error, videoOnly.error) };
}

/**
 * Opens one device, for switching camera or microphone during a meeting.
 * @param {MediaKind} kind
 * @param {string} deviceId
 * @returns {Promise<MediaStreamTrack>} rejects with the browser's exception
 */
export async function openTrack(kind, deviceId) {
  const constraints = kind === 'audio' ? { audio: audioConstraints(deviceId) } : { video: videoConstraints(deviceId) };
  const stream = await navigator.mediaDevices.getUserMedia(constraints);
  const track = stream.getTracks()[0];
  if (!track) throw new DOMException('no track', 'NotFoundError');
  return track;
}

/**
 * Cameras and microphones the browser reports (labels are empty until permission is given).
 * @returns {Promise<{audio: MediaDeviceInfo[], video: MediaDeviceInfo[]}>}
 */
export async function listDevices() {
  if (!globalThis.navigator?.mediaDevices?.enumerateDevices) return { audio: [], video: [] };
  const all = await navigator.mediaDevices.enumerateDevices();
  return {
    audio: all.filter((d) => d.kind === 'audioinput' && d.deviceId !== ''),
    video: all.filter((d) => d.kind === 'videoinput' && d.deviceId !== ''),
  };
}

/** @param {string | null | undefined} deviceId */
function audioConstraints(deviceId) {
  return deviceId ? { ...AUDIO_CONSTRAINTS, deviceId: { exact: deviceId } } : AUDIO_CONSTRAINTS;
}

/** @param {string | null | undefined} deviceId */
function videoConstraints(deviceId) {
  return deviceId ? { ...VIDEO_CONSTRAINTS, deviceId: { exact: deviceId } } : VIDEO_CONSTRAINTS;
}

/**
 * Stops every track of a stream (turns the camera light off).
 * @param {MediaStream | null | undefined} stream
 */
export function stopStream(stream) {
  for (const track of stream?.getTracks() ?? []) track.stop();
}
