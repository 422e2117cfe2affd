/*
 * sd_notify.h — the systemd readiness protocol (Type=notify), by hand:
 * one datagram to $NOTIFY_SOCKET.  Does nothing when not under systemd.
 */
#ifndef SS_SD_NOTIFY_H
#define SS_SD_NOTIFY_H

/* Sends state, e.g. "READY=1" or "STOPPING=1".  Errors are ignored (logged at debug). */
void ss_sd_notify(const char *state);

#endif
