#!/bin/sh
# /init of the User-Mode Linux test guest (scripts/peers/build-uml-initramfs.sh puts it there).
# It mounts the pseudo file systems, runs one test script and powers off; it never returns
# (init exiting would panic the kernel). The script comes from the host through hostfs
# (`ampdir=<host directory>` on the kernel command line: <dir>/test.sh), or is one baked into
# the initramfs (`ampscript=<name>`: /etc/amp/<name>.sh).
# Lines the host reads: "@@amp ..." (progress and requests), "AMP-PASS <check>", "AMP-FAIL <check>: why".
export PATH=/bin
/bin/busybox mkdir -p /proc /sys /dev /tmp /host
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox mount -t tmpfs tmpfs /tmp
/bin/busybox --install -s /bin
exec </dev/console >/dev/console 2>&1
echo "@@amp init $(cut -d' ' -f1 /proc/uptime)"

script=""
if [ -n "$ampdir" ]; then
  if mount -t hostfs hostfs /host -o "$ampdir"; then script=/host/test.sh; else echo "AMP-FAIL init: cannot mount hostfs $ampdir"; fi
elif [ -n "$ampscript" ]; then
  script="/etc/amp/$ampscript.sh"
fi
rc=0
if [ -n "$script" ] && [ -f "$script" ]; then
  sh "$script"; rc=$?
else
  echo "AMP-FAIL init: no test script (ampdir=$ampdir ampscript=$ampscript)"; rc=1
fi
echo "@@amp done rc=$rc"
sync
poweroff -f
sleep 10
