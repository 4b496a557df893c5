#!/usr/bin/env bash
# Stop the daemons that tests/slurm/start-slurm.sh started, by the PIDs it recorded in
# $HYPERREPS_SLURM_STATE/daemons (default /run/hyperreps-slurm/daemons); never by name.
# Jobs still queued or running on that private cluster are cancelled first, so that no
# slurmstepd or job process outlives slurmd. A cluster that was already up before
# start-slurm.sh ran is not touched (nothing was recorded for it).
set -uo pipefail
STATE=${HYPERREPS_SLURM_STATE:-/run/hyperreps-slurm}
LIST="$STATE/daemons"
[ -s "$LIST" ] || { echo "stop-slurm: nothing recorded in $LIST; nothing to stop"; exit 0; }

# the controller is ours: cancel what is left on it before stopping slurmd
if grep -q '^slurmctld ' "$LIST" && command -v scancel >/dev/null; then
  squeue -h -o %i 2>/dev/null | xargs -r scancel 2>/dev/null || true
  for _ in $(seq 1 20); do
    [ -z "$(squeue -h -t PD,R,CG -o %i 2>/dev/null)" ] && break; sleep 0.5
  done
fi

# stop in reverse start order: slurmd, slurmctld, then munged
rc=0
while read -r name pid; do
  [ -n "${pid:-}" ] || continue
  # a recorded PID that now belongs to another program (PID reuse) is not ours to stop
  if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "$name" ]; then
    echo "stop-slurm: $name ($pid) already gone"; continue
  fi
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "stop-slurm: $name ($pid) ignored SIGTERM for 10 s; SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null
    sleep 0.5
    kill -0 "$pid" 2>/dev/null && { echo "stop-slurm: $name ($pid) still alive" >&2; rc=1; }
  fi
  echo "stop-slurm: stopped $name ($pid)"
done < <(tac "$LIST")
[ "$rc" = 0 ] && rm -f "$LIST"
exit "$rc"
