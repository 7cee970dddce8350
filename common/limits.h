/*
 * common/limits.h: every size, count and time limit of popbridge in one
 * place. Each value matches ../PRODUCT.md "Limits" (the README repeats them).
 * A build with -DPB_TINY_LIMITS sets the caps tiny to force the error paths.
 */
#ifndef PB_LIMITS_H
#define PB_LIMITS_H

/* IMAP: one command line, literals excluded (PRODUCT.md: 64 KiB). */
#define IMAP_MAX_LINE (64 * 1024)
/* IMAP: one literal or APPEND message (advertised as APPENDLIMIT). */
#define IMAP_MAX_LITERAL (64 * 1024 * 1024)
/* IMAP: literals a client may send before it has logged in. */
#define IMAP_MAX_LITERAL_PREAUTH 4096
/* IMAP: nesting depth of parenthesised lists in one command. */
#define IMAP_MAX_LIST_DEPTH 16
/* IMAP: arguments (atoms, strings, lists) in one command. */
#define IMAP_MAX_ARGS 4096
/* IMAP: BAD replies in a row before the server hangs up. */
#define IMAP_MAX_BAD_COMMANDS 20
/* IMAP: output buffered for one client before we stop reading from it. */
#define IMAP_OUT_HIGH_WATER (256 * 1024)
#define IMAP_OUT_LOW_WATER (64 * 1024)
/* IMAP: seconds a connection may sit idle before login. */
#define IMAP_IDLE_PREAUTH_SECS 60
/* IMAP: seconds an authenticated connection may sit idle (IDLE >= 29 min). */
#define IMAP_IDLE_AUTH_SECS (30 * 60)
/* IMAP: seconds between "* OK still here" while in IDLE. */
#define IMAP_IDLE_KEEPALIVE_SECS (2 * 60)
/* Connections served at once (IMAP, all listeners together). */
#define MAX_CONNECTIONS 100
/* Folder name length in bytes (UTF-8, after modified UTF-7 decoding). */
#define FOLDER_NAME_MAX 512
/* Folder hierarchy depth. */
#define FOLDER_DEPTH_MAX 32
/* User keywords per folder (beyond that, STORE of a new one gets NO). */
#define KEYWORDS_PER_FOLDER_MAX 256
/* Length of one keyword. */
#define KEYWORD_LEN_MAX 128

/* MIME: nesting depth and number of parts parsed in one message. */
#define MIME_MAX_DEPTH 32
#define MIME_MAX_PARTS 2000
/* MIME: one header field (unfolded) kept for parsing; longer is truncated. */
#define MIME_MAX_FIELD (64 * 1024)
/* Decoded body text kept for SEARCH BODY/TEXT per message. */
#define SEARCH_TEXT_MAX (2 * 1024 * 1024)

/* POP3: reply line (status or listing line, without CRLF) and message size
 * (default of [poller] max_message_size). */
#define POP3_MAX_LINE (64 * 1024)
#define POP3_MAX_MESSAGE_DEFAULT (100LL * 1024 * 1024)
/* A UIDL is 1..70 characters 0x21..0x7E (RFC 1939); "sha256:" + 64 hex
 * for servers without UIDL. */
#define POP3_UIDL_MAX 70
#define POP3_DIGEST_UIDL_LEN 71
/* Messages in one maildrop listing (message numbers above it are refused
 * as a garbled listing: the poll fails with that error). */
#define POP3_MAX_MESSAGES 1000000
/* Connect (incl. DNS and TLS handshake) and read timeouts. */
#define POP3_CONNECT_TIMEOUT_SECS 30
#define POP3_READ_TIMEOUT_SECS 120
/* Commands in flight at once when the server offers PIPELINING. */
#define POP3_PIPELINE_DEPTH 16
/* Password and user name of an account (before sealing). */
#define POP3_PASSWORD_MAX 1024
#define POP3_USER_MAX 255
/* Accounts, their names, hosts. */
#define STORE_ACCTS_MAX 64
#define STORE_ACCT_NAME_MAX 64
#define STORE_ACCT_HOST_MAX 253
/* Poll scheduling: interval bounds (seconds), backoff cap, jitter. */
#define POLL_INTERVAL_MIN 60
#define POLL_INTERVAL_MAX (7 * 24 * 3600)
#define POLL_INTERVAL_DEFAULT 300
#define POLL_BACKOFF_MAX_SECS 3600
#define POLL_JITTER_PCT 10
/* A refused login waits at least this long before the next attempt. */
#define POLL_AUTH_RETRY_SECS 3600
/* The poll lease: held this long and renewed while the poll runs. */
#define POLL_LEASE_SECS 300

/* Failed logins: per-address delay doubles from 1 s up to this many. */
#define AUTH_FAIL_DELAY_MAX_SECS 16

/* Config file: one line. */
#define CONFIG_MAX_LINE 4096

/* ---- command line: config file, CLI commands, mbox/Maildir import ---- */
/* Config file: whole file, in bytes. */
#define CONFIG_MAX_SIZE (1024 * 1024)
/* Config file: host:port entries in one listen list. */
#define CONFIG_MAX_LISTEN 16
/* Config file: bounds of [poller] max_message_size. */
#define CONFIG_MESSAGE_SIZE_MIN 1024LL
#define CONFIG_MESSAGE_SIZE_MAX (1024LL * 1024 * 1024)
/* A password read from a --password-file or a terminal, in bytes. */
#define CLI_PASSWORD_MAX 1024
/* The login name and a device name, in bytes. */
#define CLI_USER_NAME_MAX 64
#define CLI_DEVICE_NAME_MAX 64
/* Retention: most days for trash-days / junk-days (100 years). */
#define RETENTION_DAYS_MAX 36500
/* Retention: days when unset (PRODUCT.md: 30). */
#define RETENTION_DAYS_DEFAULT 30
/* Import: messages and bytes per transaction. */
#define IMPORT_BATCH_MSGS 500
#define IMPORT_BATCH_BYTES (64 * 1024 * 1024)
/* Import: files listed from one Maildir (cur/ and new/ together). */
#define MAILDIR_MAX_FILES 5000000

/* ---- IMAP command reader and sequence sets (bridge/imap_parser.c,
 * bridge/imap_seqset.c) ---- */
/* Literal bytes one APPEND may carry in all (MULTIAPPEND, RFC 3502), as a
 * multiple of the literal cap (so 16 KiB before login, 256 MiB after). */
#define IMAP_APPEND_LITERALS_FACTOR 4
/* Literal bytes of one command kept in memory; past this every literal is
 * spooled to a file, however small. */
#define IMAP_LITERAL_HEAP_MAX (1024 * 1024)
/* Ranges in one sequence set ("1,3,5:7" has three). */
#define IMAP_MAX_SEQ_RANGES 100000

/* ---- store (db/store*.c) ---- */
/* Folders in the store, and subscribed names (CREATE past it: LIMIT). */
#define STORE_FOLDERS_MAX 4096
/* Largest message the store keeps (the IMAP and POP3 caps are lower). */
#define STORE_MESSAGE_MAX (1024LL * 1024 * 1024)
/* A setting's key or value, in bytes. */
#define STORE_SETTING_MAX (64 * 1024)
/* The login name, a device name and a password, in bytes (at least the
 * CLI_* caps above). */
#define STORE_USER_MAX 256
#define STORE_DEVICE_NAME_MAX 64
#define STORE_PASSWORD_MAX 1024
/* Devices with their own IMAP password. */
#define STORE_DEVICES_MAX 32

/* ---- bridge network layer (conn.c) ---- */
/* Seconds conn_close_after_flush waits for the peer to take our output. */
#define CONN_FLUSH_TIMEOUT_SECS 30

/* ---- MIME parsing (db/mime.c, db/msg_derive.c) ---- */
/* Parameters kept from one Content-Type or Content-Disposition field. */
#define MIME_MAX_PARAMS 256
/* RFC 2231 continuation sections kept per parameter (name*0 .. name*N). */
#define MIME_MAX_PARAM_SECTIONS 100

/* Web admin: request body, form fields, sessions. */
#define WEB_BODY_MAX (64 * 1024)
#define WEB_FORM_MAX_FIELDS 64
#define WEB_FORM_NAME_MAX 64
#define WEB_FORM_VALUE_MAX (16 * 1024)
#define WEB_SESSIONS_MAX 64
#define WEB_SESSION_IDLE_SECS (2 * 3600)
#define WEB_SESSION_MAX_SECS (7 * 24 * 3600)
#define WEB_MAX_CONNECTIONS 32

#endif
