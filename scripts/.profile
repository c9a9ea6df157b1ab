# Source this file (`. scripts/.profile`) for the nsjpy alias: run Python code in the same
# jail as the service, with no HTTP, e.g.  nsjpy 'print("hello world!")'
SNEKBOX_ROOT="${SNEKBOX_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)}"
alias nsjpy='"$SNEKBOX_ROOT/.venv/bin/snekbox" run'
