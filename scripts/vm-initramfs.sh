#!/bin/bash
# Build a tiny initramfs that lets Debian's stock kernel (modules for virtio
# and 9p are not built in there) boot the same 9p root as the test kernel:
# busybox-static as /init loads the modules and switch_roots into the 9p
# root (with the command line's rootflags=), then runs the init given as
# tcpike_init= on the command line.
#
#   scripts/vm-initramfs.sh KERNEL-VERSION   -> prints the cpio path (cached)
set -euo pipefail
kver=${1:?usage: vm-initramfs.sh KERNEL-VERSION}
cache=${TCPIKE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tcpike}
out=$cache/initramfs-$kver.cpio.gz
mods="kernel/drivers/virtio/virtio_ring kernel/drivers/virtio/virtio
kernel/drivers/virtio/virtio_pci_legacy_dev kernel/drivers/virtio/virtio_pci_modern_dev
kernel/drivers/virtio/virtio_pci kernel/fs/netfs/netfs kernel/fs/fscache/fscache
kernel/net/9p/9pnet kernel/net/9p/9pnet_virtio kernel/fs/9p/9p"
stamp=$( (echo "$mods"; cat "$0"; stat -c %Y /bin/busybox) | sha256sum | cut -c1-12)
if [ -f "$out" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "$out"
	exit 0
fi
[ -x /bin/busybox ] || { echo "vm-initramfs: /bin/busybox missing (busybox-static)" >&2; exit 1; }
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
mkdir -p "$w/bin" "$w/proc" "$w/dev" "$w/newroot" "$w/lib/modules/$kver"
cp /bin/busybox "$w/bin/busybox"
list=
for m in $mods; do
	f=/lib/modules/$kver/$m.ko
	[ -f "$f" ] || { echo "vm-initramfs: $f missing (is linux-image-$kver installed?)" >&2; exit 1; }
	mkdir -p "$w/lib/modules/$kver/$(dirname "$m")"
	cp "$f" "$w/lib/modules/$kver/$m.ko"
	list="$list /lib/modules/$kver/$m.ko"
done
cat >"$w/init" <<INIT
#!/bin/busybox sh
B=/bin/busybox
\$B mount -t proc proc /proc
\$B mount -t devtmpfs dev /dev
for m in $list; do \$B insmod \$m || echo "initramfs: insmod \$m failed"; done
init=\$(\$B sed -n 's/.*tcpike_init=\([^ ]*\).*/\1/p' /proc/cmdline)
flags=\$(\$B sed -n 's/.*rootflags=\([^ ]*\).*/\1/p' /proc/cmdline)
\$B mount -t 9p -o ro,\${flags:-trans=virtio,version=9p2000.L,msize=512000} /dev/root /newroot || \$B sh
\$B umount /dev
\$B umount /proc
exec \$B switch_root /newroot "\$init"
INIT
chmod +x "$w/init"
mkdir -p "$cache"
(cd "$w" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp"
mv "$out.tmp" "$out"
echo "$stamp" >"$out.stamp"
echo "$out"
