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

/* POP3 (next issue): reply line and message size (default, configurable). */
#define POP3_MAX_LINE (64 * 1024)
#define POP3_MAX_MESSAGE_DEFAULT (100LL * 1024 * 1024)

/* Failed logins: per-address delay doubles from 1 s up to this many. */
#define AUTH_FAIL_DELAY_MAX_SECS 16

/* Config file: one line. */
#define CONFIG_MAX_LINE 4096

#endif
