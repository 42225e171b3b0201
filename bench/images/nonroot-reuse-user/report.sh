#!/bin/sh
# Writes to the user's home (created by useradd --create-home), then reports what it saw.
set -eu
echo "ran" > "$HOME/.last-run"
test -s /etc/ssl/certs/ca-certificates.crt && certificates=present || certificates=missing
echo "home: $(cat "$HOME/.last-run"); certificates: $certificates"
