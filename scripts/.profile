# Source this file (`. scripts/.profile`) for the nsjpy alias: run Python code in the same
# jail as the service, with no HTTP, e.g.  nsjpy "print('hello world!')"
SNEKBOX_ROOT="${SNEKBOX_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)}"
if [ -x "$SNEKBOX_ROOT/.venv/bin/python" ]; then
    SNEKBOX_PYTHON="$SNEKBOX_ROOT/.venv/bin/python"
else
    SNEKBOX_PYTHON="python3"
fi
alias nsjpy='PYTHONPATH="$SNEKBOX_ROOT" "$SNEKBOX_PYTHON" -m snekbox'
