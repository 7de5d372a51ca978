#!/usr/bin/env bash
# Build the frozen app and the two Linux artifacts (run from the repository root; `make package`).
#
#   dist/vlm-desktop/                              the onedir build (PyInstaller)
#   dist/vlm-desktop-X.Y.Z-linux-x86_64.tar.gz     that folder, as vlm-desktop-X.Y.Z/
#   dist/vlm-desktop_X.Y.Z_amd64.deb               /opt/vlm-desktop + launcher, menu entry, icons, metainfo
#
# PYTHON is the project's interpreter (default .venv/bin/python). SKIP_PYINSTALLER=1 reuses an
# existing dist/vlm-desktop/ (to remake only the artifacts).
set -euo pipefail

PYTHON=${PYTHON:-.venv/bin/python}
HERE=packaging
APP=vlm-desktop
APPSTREAM_ID=org.vlmdesktop.VLMDesktop
DIST=dist
WORK=build/pyinstaller
VERSION=$("$PYTHON" -c 'import vlm_desktop; print(vlm_desktop.__version__)')
TARBALL=$DIST/$APP-$VERSION-linux-x86_64.tar.gz
DEB=$DIST/${APP}_${VERSION}_amd64.deb
# Libraries the bundle does not carry: the Qt xcb platform plugin's X11/XCB/GL stack, the
# fonts and D-Bus Qt expects from the desktop. Alternatives cover Debian 12 and 13 / Ubuntu names.
DEPENDS="libc6 (>= 2.31), libgl1, libegl1, libopengl0, libfontconfig1, libfreetype6, \
libx11-6, libx11-xcb1, libxcb1, libxcb-cursor0, libxcb-icccm4, libxcb-image0, libxcb-keysyms1, \
libxcb-randr0, libxcb-render-util0, libxcb-shape0, libxcb-shm0, libxcb-sync1, libxcb-xfixes0, \
libxcb-xinerama0, libxcb-xkb1, libxcb-render0, libxkbcommon0, libxkbcommon-x11-0, \
libdbus-1-3, libglib2.0-0t64 | libglib2.0-0"

say() { printf '\n== %s\n' "$*"; }
start=$(date +%s)

if [[ "${SKIP_PYINSTALLER:-0}" != 1 ]]; then
    say "PyInstaller $VERSION -> $DIST/$APP/"
    rm -rf "$WORK" "$DIST/$APP"
    "$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
        --distpath "$DIST" --workpath "$WORK" "$HERE/vlm_desktop.spec"
fi
test -x "$DIST/$APP/$APP" || { echo "no frozen executable at $DIST/$APP/$APP" >&2; exit 1; }
frozen=$(date +%s)

say "tarball $TARBALL"
rm -f "$TARBALL"
tar -C "$DIST" --owner=0 --group=0 --numeric-owner \
    --transform "s,^$APP,$APP-$VERSION," -czf "$TARBALL" "$APP"

say "deb $DEB"
STAGE=build/deb/${APP}_${VERSION}_amd64
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
    "$STAGE/usr/share/metainfo" "$STAGE/usr/share/icons/hicolor/scalable/apps"
# Hard links, not copies: the folder is gigabytes and dpkg-deb only reads it.
cp -al "$DIST/$APP" "$STAGE/opt/$APP"
cat > "$STAGE/usr/bin/$APP" <<EOF
#!/bin/sh
# Launcher for VLM Desktop (the frozen app lives in /opt/$APP).
exec /opt/$APP/$APP "\$@"
EOF
chmod 0755 "$STAGE/usr/bin/$APP"
install -m 0644 "$HERE/linux/$APP.desktop" "$STAGE/usr/share/applications/$APP.desktop"
install -m 0644 "$HERE/linux/$APPSTREAM_ID.metainfo.xml" "$STAGE/usr/share/metainfo/"
install -m 0644 "resources/icons/$APP.svg" "$STAGE/usr/share/icons/hicolor/scalable/apps/$APP.svg"
for png in resources/icons/$APP-*.png; do
    size=${png##*-}; size=${size%.png}
    mkdir -p "$STAGE/usr/share/icons/hicolor/${size}x${size}/apps"
    install -m 0644 "$png" "$STAGE/usr/share/icons/hicolor/${size}x${size}/apps/$APP.png"
done
installed_kb=$(du -sk --apparent-size "$STAGE" | cut -f1)
cat > "$STAGE/DEBIAN/control" <<EOF
Package: $APP
Version: $VERSION
Section: graphics
Priority: optional
Architecture: amd64
Maintainer: VLM Desktop team <vlm-desktop@localhost>
Installed-Size: $installed_kb
Depends: $DEPENDS
Description: offline vision-language desktop app
 Caption images, ask questions about them and see where the model looked as a
 heat map per word; search a local product catalog and get recommendations.
 Everything runs locally (NVIDIA GPU when usable, else CPU) and never needs the
 network. Ships its own Python, PyTorch, Qt and the built-in model.
EOF
rm -f "$DEB"
# gzip, not xz: xz takes many minutes over gigabytes of already-compressed libraries, and
# every dpkg reads gzip.
dpkg-deb --root-owner-group -Zgzip -z6 --build "$STAGE" "$DEB"
rm -rf "$STAGE"
done_at=$(date +%s)

say "sizes"
du -sh "$DIST/$APP" "$TARBALL" "$DEB"
echo "pyinstaller: $((frozen - start)) s, artifacts: $((done_at - frozen)) s"
