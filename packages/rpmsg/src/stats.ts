// The device counters: everything received, sent and dropped, by reason.

/** What was dropped, by reason. Every counter only grows (until `resetStats`). */
export interface RpmsgDropStats {
  /** Rx buffer shorter than the 16-byte header. */
  short: number;
  /** Rx buffer (used/descriptor length) larger than the buffer size. */
  oversize: number;
  /** `hdr.len` larger than the bytes the peer declared (used length − 16). */
  badLength: number;
  /** No local endpoint at `hdr.dst`. */
  noRecipient: number;
  /** Name-service message that is not 40 bytes. */
  nsMalformed: number;
  /** NS message naming address ANY or 53. */
  nsBadAddress: number;
  /** NS DESTROY for a service that was never announced. */
  nsUnknown: number;
  /** NS CREATE repeated for the same name and address. */
  nsDuplicate: number;
  /** Announcement dropped because `maxPendingAnnouncements` were already waiting. */
  nsOverflow: number;
  /** Message dropped because an endpoint's iterator queue was full. */
  queueOverflow: number;
  /**
   * A ring buffer that is not one descriptor of the expected direction (handed back unused), or
   * a tx buffer too small for a name-service message (that NS message is dropped).
   */
  badBuffer: number;
}

/** Counters of a device. */
export interface RpmsgStats {
  rxMessages: number;
  rxBytes: number;
  txMessages: number;
  txBytes: number;
  /** NS messages whose 32-byte name had no NUL (accepted, cut at 31 bytes, as Linux does). */
  nsUnterminated: number;
  /**
   * Host: returned tx buffers whose used length was not 0. OpenAMP and rpmsg-lite remotes write
   * the descriptor length there (the spec says 0); like Linux we ignore it: a count, not a drop.
   */
  usedLenIgnored: number;
  /** Exceptions thrown by user callbacks (`onMessage`, `onUnbind`, name-service handlers). */
  callbackErrors: number;
  /** Ring or transport violations by the peer (each one takes the link down). */
  protocolErrors: number;
  linkUps: number;
  linkDowns: number;
  readonly dropped: RpmsgDropStats;
}

function zeroDrops(): RpmsgDropStats {
  return {
    short: 0,
    oversize: 0,
    badLength: 0,
    noRecipient: 0,
    nsMalformed: 0,
    nsBadAddress: 0,
    nsUnknown: 0,
    nsDuplicate: 0,
    nsOverflow: 0,
    queueOverflow: 0,
    badBuffer: 0,
  };
}

/** @internal A zeroed counter set. */
export function newStats(): RpmsgStats {
  return {
    rxMessages: 0,
    rxBytes: 0,
    txMessages: 0,
    txBytes: 0,
    nsUnterminated: 0,
    usedLenIgnored: 0,
    callbackErrors: 0,
    protocolErrors: 0,
    linkUps: 0,
    linkDowns: 0,
    dropped: zeroDrops(),
  };
}

/** @internal Zeroes `s` in place (callers hold the live object). */
export function zeroStats(s: RpmsgStats): void {
  Object.assign(s.dropped, zeroDrops());
  s.rxMessages = 0;
  s.rxBytes = 0;
  s.txMessages = 0;
  s.txBytes = 0;
  s.nsUnterminated = 0;
  s.usedLenIgnored = 0;
  s.callbackErrors = 0;
  s.protocolErrors = 0;
  s.linkUps = 0;
  s.linkDowns = 0;
}
