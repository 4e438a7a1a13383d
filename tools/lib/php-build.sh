# tools/lib/php-build.sh — shared by tools/setup, tools/test and tools/bench.
# Installs packages, builds PHP 8.4 from Debian's source package into a cache
# outside the checkout (keyed by version + configure flags), builds tfpm.
# Functions only; sourced, never run.

# Bump when the recipe changes in a way the flags do not show.
PHP_RECIPE_REV=1

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

cache_root() {
  if [ -n "${TFPM_CACHE_DIR:-}" ]; then echo "$TFPM_CACHE_DIR"
  elif [ "$(id -u)" = 0 ]; then echo /var/cache/tfpm
  else echo "$HOME/.cache/tfpm"; fi
}

# Packages: toolchain, PHP's build dependencies, tfpm's libraries, and the
# real peers the tests drive (nginx, Apache, php8.2-fpm, DokuWiki, WordPress
# with its default theme and a MariaDB server the tests start themselves, wrk).
TFPM_PACKAGES=(
  build-essential pkg-config meson ninja-build xz-utils ca-certificates file
  libxml2-dev libsqlite3-dev zlib1g-dev libonig-dev libssl-dev
  libcurl4-openssl-dev libicu-dev libpng-dev libjpeg-dev libfreetype-dev
  libzip-dev libsodium-dev libwebp-dev
  libfcgi-dev libboost-dev libboost-filesystem-dev libspdlog-dev libfmt-dev
  libyaml-cpp-dev doctest-dev nlohmann-json3-dev
  nginx python3 python3-pytest curl procps psmisc iproute2 wrk
  php8.2-fpm apache2 dokuwiki
  wordpress wordpress-theme-twentytwentythree mariadb-server mariadb-client
  php-symfony-framework-bundle
)

# The mirror this machine already uses for Debian (not security), read from
# its apt sources; we never hard-code a host.
debian_mirror() {
  local uri
  uri=$(awk '/^URIs:/ {print $2}' /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | grep -v security | head -n1 || true)
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ {for (i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' \
          /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || die "cannot find the Debian mirror in /etc/apt/sources*"
  echo "$uri"
}

install_packages() {
  local src=/etc/apt/sources.list.d/tfpm-php84-src.sources
  if [ ! -f "$src" ]; then
    log "adding deb-src for trixie (PHP 8.4 source package) from $(debian_mirror)"
    as_root tee "$src" >/dev/null <<SRC
Types: deb-src
URIs: $(debian_mirror)
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    as_root apt-get update -qq
  fi
  local missing=()
  for p in "${TFPM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
      || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    [ -f "$src" ] && as_root apt-get update -qq
    # Keep package scripts from starting system services (nginx on :80,
    # php8.2-fpm, mariadb): tests start their own instances on loopback.
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
      as_root chmod 755 "$policy"; made_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq \
      --no-install-recommends "${missing[@]}" >&2 || {
        [ $made_policy = 1 ] && as_root rm -f "$policy"; die "apt-get install failed"; }
    [ $made_policy = 1 ] && as_root rm -f "$policy"
  fi
}

php_source_version() {
  apt-cache showsrc php8.4 2>/dev/null | awk '/^Version:/ {print $2}' | sort -V | tail -n1
}

php_configure_flags() {
  local flavor=$1 triplet
  triplet=$(gcc -dumpmachine)
  # Zend/Zend.m4 enables max-execution timers only when $host_alias matches
  # *linux*; without --host they are silently off.
  local common=(
    --host="$triplet" --build="$triplet"
    --disable-cgi --disable-phpdbg
    --enable-opcache --enable-mbstring --enable-intl --enable-ctype
    --enable-tokenizer --with-iconv --enable-dom --enable-simplexml
    --enable-xml --enable-xmlreader --enable-xmlwriter --enable-fileinfo
    --enable-filter --enable-session --with-sodium --with-openssl --with-curl
    --with-zlib --with-zip --enable-bcmath --enable-exif
    --enable-gd --with-jpeg --with-freetype --with-webp
    --enable-sockets --enable-posix --enable-pdo --with-pdo-sqlite
    --with-sqlite3 --enable-mysqlnd --with-mysqli=mysqlnd
    --with-pdo-mysql=mysqlnd
  )
  case "$flavor" in
    zts) printf '%s\n' "${common[@]}" --enable-embed=shared --enable-zts \
           --enable-zend-max-execution-timers --disable-zend-signals ;;
    fpm) printf '%s\n' "${common[@]}" --enable-fpm --disable-zts ;;
    *) die "unknown PHP flavor $flavor" ;;
  esac
}

PHP_CFLAGS="-O2 -g"

# build_php FLAVOR -> prints the install prefix. Reuses a cached build.
build_php() {
  local flavor=$1 version root key prefix
  version=$(php_source_version)
  [ -n "$version" ] || die "apt-cache showsrc php8.4 found nothing (is the trixie deb-src entry there?)"
  root=$(cache_root)
  key=$( { echo "rev=$PHP_RECIPE_REV version=$version cflags=$PHP_CFLAGS"; php_configure_flags "$flavor"; } \
         | sha256sum | cut -c1-12)
  prefix="$root/php-${version%%-*}-$flavor-$key"
  if [ -f "$prefix/.complete" ]; then
    log "PHP $version ($flavor) cached at $prefix"
    echo "$prefix"; return 0
  fi
  mkdir -p "$root"
  exec 9>"$root/.lock-$key"
  flock 9
  if [ -f "$prefix/.complete" ]; then echo "$prefix"; exec 9>&-; return 0; fi

  local srcdir="$root/src/$version"
  if [ ! -d "$srcdir/php" ]; then
    log "downloading Debian source package php8.4 $version"
    rm -rf "$srcdir"; mkdir -p "$srcdir"
    (cd "$srcdir" && apt-get source --download-only "php8.4=$version" >&2) \
      || die "apt-get source php8.4=$version failed"
    local orig
    orig=$(ls "$srcdir"/php8.4_*.orig.tar.* | head -n1)
    mkdir -p "$srcdir/php.tmp"
    tar -xf "$orig" -C "$srcdir/php.tmp" --strip-components=1
    mv "$srcdir/php.tmp" "$srcdir/php"
  fi

  local builddir="$root/build-$flavor-$key"
  rm -rf "$builddir" "$prefix"
  cp -a "$srcdir/php" "$builddir"
  local flags=()
  mapfile -t flags < <(php_configure_flags "$flavor")
  log "configuring PHP $version ($flavor) -> $prefix"
  local t0=$SECONDS
  (cd "$builddir" && CFLAGS="$PHP_CFLAGS" CXXFLAGS="$PHP_CFLAGS" \
     ./configure --prefix="$prefix" "${flags[@]}" >"$builddir/configure.out" 2>&1) \
    || { tail -n 30 "$builddir/configure.out" >&2; die "PHP configure failed"; }
  log "configure took $((SECONDS - t0)) s; make -j$(nproc)"
  t0=$SECONDS
  (cd "$builddir" && make -j"$(nproc)" >"$builddir/make.out" 2>&1) \
    || { tail -n 40 "$builddir/make.out" >&2; die "PHP make failed"; }
  log "make took $((SECONDS - t0)) s"
  (cd "$builddir" && make install >"$builddir/install.out" 2>&1) \
    || { tail -n 20 "$builddir/install.out" >&2; die "PHP make install failed"; }

  local cfg="$prefix/include/php/main/php_config.h"
  if [ "$flavor" = zts ]; then
    grep -q '^#define ZTS 1' "$cfg" || die "$cfg: ZTS is not enabled"
    grep -q '^#define ZEND_MAX_EXECUTION_TIMERS 1' "$cfg" \
      || die "$cfg: ZEND_MAX_EXECUTION_TIMERS is off (configure needs --host=*linux*)"
    [ -f "$prefix/lib/libphp.so" ] || die "$prefix/lib/libphp.so missing"
  else
    [ -x "$prefix/sbin/php-fpm" ] || die "$prefix/sbin/php-fpm missing"
  fi
  echo "version=$version flavor=$flavor key=$key" >"$prefix/.complete"
  rm -rf "$builddir"
  exec 9>&-
  echo "$prefix"
}

# build_tfpm PHP_PREFIX BUILDDIR SANITIZE(none|address|thread)
build_tfpm() {
  local prefix=$1 builddir=$2 sanitize=${3:-none} here
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  [ -n "$sanitize" ] || sanitize=none
  if [ ! -f "$builddir/build.ninja" ]; then
    log "meson setup $builddir (sanitize=$sanitize)"
    PATH="$prefix/bin:$PATH" meson setup "$builddir" "$here" \
      --buildtype=debugoptimized -Db_sanitize="$sanitize" \
      -Db_lundef=$([ "$sanitize" = none ] && echo true || echo false) >&2 \
      || die "meson setup failed"
  fi
  PATH="$prefix/bin:$PATH" ninja -C "$builddir" >&2 || die "build failed"
}
