#!/bin/sh
# make run: start popbridge on ./popbridge-data (created on first run).
# POPBRIDGE_DATA and POPBRIDGE_USER override the directory and login name.
bin=$1
data=${POPBRIDGE_DATA:-./popbridge-data}
user=${POPBRIDGE_USER:-$(id -un)}
if [ ! -f "$data/popbridge.db" ]; then
	"$bin" init --data "$data" --user "$user" || exit 1
fi
cat <<MSG

  popbridge is starting on $data
  1. Set the password (once):   $bin passwd --data $data
     or give each device its own: $bin device add phone --data $data
  2. Point your mail client at this machine:
       IMAP server 127.0.0.1, user "$user",
       port 1993 with SSL/TLS, or port 1143 with STARTTLS
       (the certificate is self-signed: $data/tls/cert.pem; accept it
       once, or import it into the client)
  3. Import old mail: $bin import --data $data --folder INBOX FILE.mbox
  Stop with Ctrl-C.

MSG
exec "$bin" serve --data "$data"
