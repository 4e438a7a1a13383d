# tools/lib/php-build.sh — shared by tools/setup, tools/test and tools/bench.
# Installs packages, builds PHP 8.4 from Debian's source package into a cache
# outside the checkout (keyed by version + configure flags), builds tfpm.
# Functions only; sourced, never run.

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Bump when the recipe changes in a way the flags and the pin do not show.
PHP_RECIPE_REV=2
TFPM_PINS=${TFPM_PINS:-"$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/pins"}

cache_root() {
  if [ -n "${TFPM_CACHE_DIR:-}" ]; then echo "$TFPM_CACHE_DIR"
  elif [ "$(id -u)" = 0 ]; then echo /var/cache/tfpm
  else echo "$HOME/.cache/tfpm"; fi
}

# Packages: toolchain, PHP's build dependencies (with the libraries of the
# shared extensions: pgsql, gmp, bz2, ldap, xsl), tfpm's libraries, the
# libraries of the PECL extensions tools/ext builds, and the real peers the
# tests drive (nginx, Apache, php8.2-fpm, DokuWiki, WordPress with its default
# theme and a MariaDB server, PostgreSQL, Redis, HAProxy for the multi-host
# test; the tests start their own), and the framework components of
# tools/bench/apps (Symfony with its Runtime, the Illuminate components the
# Octane-style app uses).
TFPM_PACKAGES=(
  build-essential pkg-config meson ninja-build xz-utils ca-certificates file patch
  curl autoconf
  libxml2-dev libsqlite3-dev zlib1g-dev libonig-dev libssl-dev
  libcurl4-openssl-dev libicu-dev libpng-dev libjpeg-dev libfreetype-dev
  libzip-dev libsodium-dev libwebp-dev
  libpq-dev libgmp-dev libbz2-dev libldap2-dev libxslt1-dev
  libmemcached-dev libmagickwand-dev
  libfcgi-dev libboost-dev libboost-filesystem-dev libspdlog-dev libfmt-dev
  libyaml-cpp-dev doctest-dev nlohmann-json3-dev libacl1-dev
  clang libclang-rt-14-dev
  nginx python3 python3-pytest python3-yaml procps psmisc iproute2 wrk strace
  php8.2-fpm apache2 dokuwiki
  wordpress wordpress-theme-twentytwentythree mariadb-server mariadb-client
  php-symfony-framework-bundle php-symfony-runtime
  php-illuminate-container php-illuminate-events php-illuminate-http
  php-illuminate-routing php-illuminate-support
  postgresql redis-server haproxy
)

# The mirror this machine already uses for Debian (not security), read from
# its apt sources (TFPM_DEBIAN_MIRROR overrides); we never hard-code a host.
debian_mirror() {
  local uri
  if [ -n "${TFPM_DEBIAN_MIRROR:-}" ]; then echo "${TFPM_DEBIAN_MIRROR%/}"; return 0; fi
  uri=$(awk '/^URIs:/ {print $2}' /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | grep -v security | head -n1 || true)
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ {for (i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' \
          /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || die "cannot find the Debian mirror in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list: add the machine's Debian mirror there (apt needs it too)"
  echo "${uri%/}"
}

missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
      || echo "$p"
  done
}

install_packages() {
  # Wave 1 added a deb-src entry for trixie; nothing reads it any more (the
  # sources come by pinned pool path), and an index apt cannot fetch would
  # only slow every apt-get update down.
  [ -f /etc/apt/sources.list.d/tfpm-php84-src.sources ] \
    && as_root rm -f /etc/apt/sources.list.d/tfpm-php84-src.sources
  local missing=()
  mapfile -t missing < <(missing_packages "${TFPM_PACKAGES[@]}")
  [ ${#missing[@]} -gt 0 ] || return 0
  [ "$(id -u)" = 0 ] || command -v sudo >/dev/null 2>&1 \
    || die "packages are missing (${missing[*]}) and installing them needs root: run as root, or install sudo"
  require_disk /var/cache/apt 1500 "installing ${#missing[@]} packages"
  log "apt-get update"
  as_root apt-get update -qq >&2 \
    || die "apt-get update failed: is the Debian mirror in /etc/apt/sources* reachable from here?"
  log "apt-get install ${missing[*]}"
  # Keep package scripts from starting system services (nginx on :80,
  # php8.2-fpm, mariadb, postgresql, redis): tests start their own instances
  # on loopback. Container images ship a policy-rc.d of their own; it is
  # left alone, and ours is removed only if we made it.
  local policy=${TFPM_POLICY_RC:-/usr/sbin/policy-rc.d} made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod 755 "$policy"
    made_policy=1
  fi
  local ok=1 t0=$SECONDS
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" >&2 || ok=0
  if [ "$made_policy" = 1 ]; then as_root rm -f "$policy"; fi
  log "apt-get install of ${#missing[@]} packages took $((SECONDS - t0)) s"
  [ "$ok" = 1 ] || die "apt-get install failed (see above): run 'apt-get update' and try again, or check that the mirror serves Debian 12 (bookworm)"
  return 0
}

# pins_for NAME: the pinned lines of NAME, preferred first: "VERSION PATH SHA256".
pins_for() {
  awk -v n="$1" '$1 == n {print $2, $3, $4}' "$TFPM_PINS"
}

# fetch_pinned NAME -> prints "VERSION TARBALL" of the first pin of NAME that
# is in the cache or that the mirror serves with the pinned sha256.
fetch_pinned() {
  local name=$1 mirror dir version path sha file tried=()
  mirror=$(debian_mirror)
  dir="$(cache_root)/src"
  mkdir -p "$dir"
  local pins=()
  mapfile -t pins < <(pins_for "$name")
  [ ${#pins[@]} -gt 0 ] || die "no pin for '$name' in $TFPM_PINS"
  for line in "${pins[@]}"; do
    read -r version path sha <<<"$line"
    file="$dir/${path##*/}"
    if [ -f "$file" ] && echo "$sha  $file" | sha256sum -c --status; then
      echo "$version $file"; return 0
    fi
  done
  for line in "${pins[@]}"; do
    read -r version path sha <<<"$line"
    file="$dir/${path##*/}"
    tried+=("$mirror/$path")
    log "downloading $mirror/$path"
    if ! curl -fsSL --retry 2 --connect-timeout 20 -o "$file.part" "$mirror/$path"; then
      log "  not served (or mirror unreachable)"; rm -f "$file.part"; continue
    fi
    if ! echo "$sha  $file.part" | sha256sum -c --status; then
      log "  sha256 mismatch: got $(sha256sum "$file.part" | cut -d' ' -f1), pinned $sha"
      rm -f "$file.part"; continue
    fi
    mv "$file.part" "$file"
    echo "$version $file"; return 0
  done
  {
    log "cannot get $name: none of its pinned tarballs is cached in $dir or served by the mirror"
    local u; for u in "${tried[@]}"; do log "  tried $u"; done
    log "what to do: check that $mirror is reachable (curl -I ${tried[0]}); if the mirror dropped"
    log "these versions, put a newer one first in $TFPM_PINS (version, pool path and the"
    log "sha256 of its .orig from trixie's Sources index); or copy a tarball with a pinned"
    log "sha256 into $dir"
  }
  exit 1
}

# check_pins: which pinned tarballs the mirror serves today (exit 1 if the
# first pin of a name is gone).
check_pins() {
  local mirror name version path sha first=() bad=0 seen=" " code
  mirror=$(debian_mirror)
  while read -r name version path sha; do
    case "$name" in ''|'#'*) continue ;; esac
    code=$(curl -s -o /dev/null -I -w '%{http_code}' --connect-timeout 20 "$mirror/$path" || true)
    printf '%-10s %-8s %s %s\n' "$name" "$version" "$code" "$mirror/$path"
    if [ "${seen#* $name }" = "$seen" ]; then
      seen="$seen$name "
      [ "$code" = 200 ] || { bad=1; log "the preferred pin of $name ($version) is not served any more: move to a newer version in $TFPM_PINS"; }
    fi
  done <"$TFPM_PINS"
  return $bad
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
    --with-pgsql=shared --with-pdo-pgsql=shared --with-gmp=shared
    --with-bz2=shared --with-ldap=shared --enable-soap=shared
    --with-xsl=shared --enable-calendar=shared --with-gettext=shared
  )
  case "$flavor" in
    zts) printf '%s\n' "${common[@]}" --enable-embed=shared --enable-zts \
           --enable-zend-max-execution-timers --disable-zend-signals ;;
    fpm) printf '%s\n' "${common[@]}" --enable-fpm --disable-zts ;;
    *) die "unknown PHP flavor $flavor" ;;
  esac
}

# -g1: line tables and function names (backtraces with file:line), without
# the variable-location info of -g, which costs about a third of the build's
# CPU (Zend/zend_execute.c: 33.7 s at -O2 -g, 24.0 s at -O2 -g1, 21.2 s
# without debug info). -g levels do not change the generated code, so the
# benchmark's same-source php-fpm (same flags) stays comparable.
PHP_CFLAGS="-O2 -g1 -fno-semantic-interposition"
# libphp.so calls its own functions directly instead of through its PLT:
# -fno-semantic-interposition lets the compiler bind (and inline) calls to
# functions defined in the same library, -Bsymbolic-functions makes the
# linker resolve the rest inside libphp. Nothing outside libphp replaces a
# PHP function, so nothing relies on interposing one. Only functions: data
# symbols keep their GOT entries, because a PIE executable (tfpm-worker)
# may hold copy relocations of PHP's globals (sapi_module, the *_globals
# offsets). libphp's PLT went from 3,428 to 1,707 slots and Symfony's CPU
# per request from 734 to 687 us (tools/bench/build-ab, -6.5 %). For the
# php-fpm flavor both flags are close to no-ops (an executable binds its
# own functions already); it gets them so the benchmark's same-source
# php-fpm has the same compiler treatment.
PHP_LDFLAGS="-Wl,-Bsymbolic-functions"
# ZTS only: PHP's thread-local variables (ZEND_TLS: spl_autoload_functions,
# the random engine's state, ...) in the initial-exec TLS model, as PHP
# already declares its TSRM cache. In a shared library the default model
# calls __tls_get_addr on every access (Symfony: about 1 % of its CPU in
# perf). Safe because libphp is linked into tfpm-worker, never dlopen'ed;
# the extensions PHP builds beside it have no TLS but their TSRM cache
# (8 bytes each, already initial-exec). In an NTS build ZEND_TLS is a plain
# static, so php-fpm would compile the same code with it.
PHP_ZTS_CFLAGS="-ftls-model=initial-exec"

# Patches applied to PHP's source before configure, per flavor:
# tools/lib/php-patches/FLAVOR/*.patch (patch -p1, in name order; their
# contents are part of the cache key). Each says in its text why.
PHP_PATCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/php-patches"

php_patches() {  # FLAVOR -> the patch files, one per line
  local f
  for f in "$PHP_PATCH_DIR/$1"/*.patch; do [ -f "$f" ] && echo "$f"; done
  return 0
}

# build_php FLAVOR -> prints the install prefix. Reuses a cached build.
build_php() {
  local flavor=$1 version tarball sha root key prefix cflags=$PHP_CFLAGS patches=()
  [ "$flavor" = zts ] && cflags="$cflags $PHP_ZTS_CFLAGS"
  mapfile -t patches < <(php_patches "$flavor")
  root=$(cache_root)
  require_disk "$root" 200 "the PHP source"
  read -r version tarball < <(fetch_pinned php8.4) || exit 1
  [ -n "$tarball" ] || exit 1
  sha=$(sha256sum "$tarball" | cut -c1-64)
  key=$( { echo "rev=$PHP_RECIPE_REV version=$version sha=$sha cflags=$cflags ldflags=$PHP_LDFLAGS"; php_configure_flags "$flavor";
           [ ${#patches[@]} -eq 0 ] || cat "${patches[@]}"; } \
         | sha256sum | cut -c1-12)
  prefix="$root/php-$version-$flavor-$key"
  if [ -f "$prefix/.complete" ]; then
    log "PHP $version ($flavor) cached at $prefix"
    echo "$prefix"; return 0
  fi
  exec 9>"$root/.lock-$key"
  flock 9
  if [ -f "$prefix/.complete" ]; then echo "$prefix"; exec 9>&-; return 0; fi
  require_disk "$root" 2500 "building PHP"

  local srcdir="$root/src/php-$version"
  if [ ! -f "$srcdir/.unpacked" ]; then
    rm -rf "$srcdir"; mkdir -p "$srcdir"
    tar -xf "$tarball" -C "$srcdir" --strip-components=1
    touch "$srcdir/.unpacked"
  fi

  local builddir="$root/build-$flavor-$key"
  rm -rf "$builddir" "$prefix"
  cp -a "$srcdir" "$builddir"
  local p
  for p in "${patches[@]}"; do
    log "applying $(basename "$p")"
    patch -d "$builddir" -p1 --batch --forward <"$p" >"$builddir/patch.out" 2>&1 \
      || { cat "$builddir/patch.out" >&2; die "$p does not apply to PHP $version"; }
  done
  local flags=()
  mapfile -t flags < <(php_configure_flags "$flavor")
  log "configuring PHP $version ($flavor) -> $prefix"
  local t0=$SECONDS
  (cd "$builddir" && CFLAGS="$cflags" CXXFLAGS="$cflags" LDFLAGS="$PHP_LDFLAGS" \
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
  # The sanitizer builds compile at -O1 -g1 (the level ASan's and TSan's
  # documentation recommend; -g1 keeps the line tables their reports need):
  # at -O2 -g a sanitized unit-test file took 2.3x (ASan) and 1.7x (TSan)
  # the CPU (tests/unit/supervisor/supervisor_restart_test.cc: 32.6 s vs
  # 13.9 s, 15.2 s vs 9.1 s). The plain build stays -O2 -g: it is the one
  # that is installed, debugged and benchmarked.
  local opts=(--buildtype=debugoptimized -Db_sanitize="$sanitize")
  if [ "$sanitize" = none ]; then
    opts+=(-Db_lundef=true)
  else
    opts+=(-Db_lundef=false -Doptimization=1 -Dcpp_args=-g1)
  fi
  if [ ! -f "$builddir/build.ninja" ]; then
    log "meson setup $builddir (sanitize=$sanitize)"
    PATH="$prefix/bin:$PATH" meson setup "$builddir" "$here" "${opts[@]}" >&2 \
      || die "meson setup failed"
  elif [ "$(cat "$builddir/.tfpm-php-prefix" 2>/dev/null)" != "$prefix" ]; then
    # meson asks php-config for libphp's place only when it configures: a
    # build directory made for another cached PHP would keep linking (and
    # rpath-ing) the old one.
    log "meson setup --reconfigure $builddir: PHP is now $prefix"
    PATH="$prefix/bin:$PATH" meson setup --reconfigure "$builddir" "$here" "${opts[@]}" >&2 \
      || die "meson setup --reconfigure $builddir failed"
  else
    # An existing directory takes the same options (no rebuild unless one changed).
    PATH="$prefix/bin:$PATH" meson configure "$builddir" "${opts[@]:1}" >/dev/null \
      || die "meson configure $builddir failed"
  fi
  echo "$prefix" >"$builddir/.tfpm-php-prefix"
  local t0=$SECONDS
  PATH="$prefix/bin:$PATH" ninja -C "$builddir" >&2 || die "build failed"
  log "tfpm build ($builddir) took $((SECONDS - t0)) s"
}
