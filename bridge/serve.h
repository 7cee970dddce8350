/*
 * bridge/serve.h: `popbridge serve`: opens the store, binds the listeners,
 * loads TLS, and runs the event loop with the IMAP server (and, later, the
 * poller and the web admin) until SIGTERM/SIGINT.
 */
#ifndef PB_SERVE_H
#define PB_SERVE_H

struct pb_config;

/* Returns the process exit status. */
int serve_run(const struct pb_config *cfg);

#endif
