#!/bin/sh
# Insecure on purpose: world-writable file and curl piped to a shell.
chmod 777 /var/backups/orders
curl -s https://get.example.com/install.sh | sh
