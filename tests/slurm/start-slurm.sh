#!/usr/bin/env bash
# Start a throw-away single-node SLURM cluster for tests/test_slurm.py (and for trying
# profiles/slurm by hand). Debian 12 packages (slurm-wlm 22.05 + munge), no systemd, no
# slurmdbd: accounting is off, so the profile must poll with `slurm-status-command: squeue`.
#
#   sudo bash tests/slurm/start-slurm.sh      # ~10 s the first time (apt), ~3 s after
#   sudo bash tests/slurm/stop-slurm.sh       # stops exactly what this script started
#
# The node gets two partitions on the same machine, so that the profile's CPU/GPU mapping is
# exercised for real:
#   local_cpu  (default)  every rule without a GPU
#   local_gpu             the GPU rules; the node advertises LOCAL_GPUS (default 2) *fake*
#                         GPUs (GRES backed by /dev/null clones): `--gpus=1` is scheduled
#                         and accounted, but no CUDA device exists.
# The daemons that this script starts are written, one "name pid" a line, to
# $HYPERREPS_SLURM_STATE/daemons (default /run/hyperreps-slurm/daemons); stop-slurm.sh kills
# those PIDs and nothing else. A cluster that is already up (sinfo shows an idle node) is left
# alone and recorded as not ours.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
STATE=${HYPERREPS_SLURM_STATE:-/run/hyperreps-slurm}
LOCAL_GPUS=${LOCAL_GPUS:-2}
MARK="# written by hyperreps tests/slurm/start-slurm.sh"
[ "$(id -u)" = 0 ] || { echo "start-slurm: must run as root (installs packages, starts daemons)" >&2; exit 1; }
mkdir -p "$STATE"
touch "$STATE/daemons"
# forget records of daemons that are gone (a run whose stop-slurm.sh never ran)
while read -r name pid; do
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] && echo "$name $pid"
done < "$STATE/daemons" > "$STATE/daemons.new" || true
mv "$STATE/daemons.new" "$STATE/daemons"

die() { echo "start-slurm: $*" >&2; exit 1; }
running() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
record() {  # record NAME PIDFILE: remember a daemon this script started, by PID
  for _ in $(seq 1 50); do [ -s "$2" ] && break; sleep 0.1; done
  [ -s "$2" ] || die "$1 wrote no pid file $2"
  echo "$1 $(cat "$2")" >> "$STATE/daemons"
}
node_idle() { sinfo -h -o %T 2>/dev/null | grep -Eq '^(idle|mixed|allocated)'; }

# (sinfo retries for ~10 s when no controller answers: bound the first look)
if command -v sinfo >/dev/null && timeout 3 sinfo -h -o %T 2>/dev/null | grep -Eq '^(idle|mixed|allocated)'; then
  echo "start-slurm: a SLURM cluster is already up; using it as is"
  sinfo
  exit 0
fi

# --- packages ------------------------------------------------------------------------
pkgs="slurm-wlm munge"
need=0; for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || need=1; done
if [ "$need" = 1 ]; then
  command -v apt-get >/dev/null || die "slurm-wlm/munge missing and no apt-get"
  apt-get update -qq
  # without --no-install-recommends slurm-wlm drags in ~43 packages (hdf5, rrd, rocm, ...)
  apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
fi

# --- munge ---------------------------------------------------------------------------
[ -s /etc/munge/munge.key ] || runuser -u munge -- mungekey --create
install -d -o munge -g munge -m 0755 /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  rm -f /run/munge/munged.pid
  runuser -u munge -- /usr/sbin/munged     # forks; writes /run/munge/munged.pid
  record munged /run/munge/munged.pid
fi
munge -n | unmunge >/dev/null || die "munge does not work"

# --- slurm.conf (only ever overwrites a file this script wrote) ------------------------
CONF=/etc/slurm/slurm.conf
if [ -e "$CONF" ] && ! head -n1 "$CONF" | grep -qxF "$MARK"; then
  echo "start-slurm: $CONF was not written by this script; using it unchanged" >&2
else
  HOST=$(hostname -s)
  MEM=$(( $(free -m | awk '/^Mem:/{print $2}') - 1024 ))   # RealMemory must not exceed it
  NODE=$(slurmd -C | head -n1 | sed -E "s/RealMemory=[0-9]+/RealMemory=${MEM}/")
  cat > "$CONF" <<EOF
${MARK}
ClusterName=localcluster
SlurmctldHost=${HOST}(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
ReturnToService=2
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
# sacct cannot read this (22.05), but it records every job's state and exit code
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.txt
# finished jobs stay visible to squeue for 1 h: the plugin's squeue status mode needs them
# for >= 3 x its poll interval, and the test reads their partition and GPUs afterwards
MinJobAge=3600
KillWait=5
InactiveLimit=0
Waittime=0
GresTypes=gpu
${NODE} Gres=gpu:${LOCAL_GPUS} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=local_cpu Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName=local_gpu Nodes=ALL Default=NO MaxTime=INFINITE State=UP
EOF
  # Fake GPUs: slurmd drops a GPU without a device file and wants character devices, so
  # each one is a clone of /dev/null (c 1 3). Nothing opens them (TaskPlugin=task/none, no
  # device cgroup); jobs only see the CUDA_VISIBLE_DEVICES that SLURM sets.
  files=""
  for i in $(seq 0 $(( LOCAL_GPUS - 1 ))); do
    dev="$STATE/fake-gpu$i"
    [ -c "$dev" ] || { rm -f "$dev"; mknod "$dev" c 1 3; } || die "mknod $dev failed"
    files="${files:+$files,}$dev"
  done
  cat > /etc/slurm/gres.conf <<EOF
${MARK}
AutoDetect=off
Name=gpu File=${files}
EOF
fi
install -d -o slurm -g slurm /var/log/slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd

# --- slurmctld + slurmd --------------------------------------------------------------
if ! running /run/slurmctld.pid; then
  rm -f /run/slurmctld.pid
  # -c: start from a clean state (no jobs, no node drained by an earlier, different config)
  /usr/sbin/slurmctld -c                   # forks; writes /run/slurmctld.pid
  record slurmctld /run/slurmctld.pid
fi
if ! running /run/slurmd.pid; then
  rm -f /run/slurmd.pid
  /usr/sbin/slurmd                         # forks; writes /run/slurmd.pid
  record slurmd /run/slurmd.pid
fi
for _ in $(seq 1 60); do node_idle && break; sleep 0.5; done
if ! node_idle; then
  tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
  die "the node did not come up"
fi
sinfo
