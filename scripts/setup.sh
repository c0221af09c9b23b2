# Sourced by scripts/demo and scripts/test: installs what dockyard needs on a fresh Debian 12
# machine (as root) and activates a virtual environment with dockyard installed in it.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APT_PACKAGES=(busybox-static skopeo umoci runc docker-registry apache2-utils tini)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo ">> apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [[ "${DOCKYARD_EXTRAS:-}" == test ]]; then
    # docker-compose 1.29.2, a second compose client the tests drive dockyardd with, in a venv of
    # its own: it pins docker-py 6 and PyYAML 5, which only builds from source with Cython < 3.
    COMPOSE_VENV="$REPO/.venv-compose"
    if [[ ! -e "$COMPOSE_VENV/.installed-1.29.2" ]]; then
        echo ">> docker-compose 1.29.2 into $COMPOSE_VENV"
        "$PYTHON" -m venv "$COMPOSE_VENV"
        {
            "$COMPOSE_VENV/bin/pip" install -q "cython<3" wheel "setuptools<70"
            "$COMPOSE_VENV/bin/pip" install -q --no-build-isolation "PyYAML==5.4.1"
            "$COMPOSE_VENV/bin/pip" install -q "docker-compose==1.29.2" "docker==6.1.3" "requests<2.32"
        } 2>&1 | grep -v -e "^WARNING: Location" -e "BuildBackendWarning" || true
        "$COMPOSE_VENV/bin/docker-compose" version >/dev/null || { echo "docker-compose failed to install" >&2; exit 1; }
        touch "$COMPOSE_VENV/.installed-1.29.2"
    fi
fi
VENV="$REPO/.venv"
if [[ ! -x "$VENV/bin/python" ]]; then
    echo ">> creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
# shellcheck disable=SC1091
source "$VENV/bin/activate"
stamp="$VENV/.installed-$(sha256sum "$REPO/pyproject.toml" | cut -c1-16)-${DOCKYARD_EXTRAS:-base}"
if [[ ! -e "$stamp" ]]; then
    echo ">> pip install dockyard${DOCKYARD_EXTRAS:+[$DOCKYARD_EXTRAS]}"
    # The mirrors' "Location ... is ignored" notices are noise: keep real errors only.
    python -m pip install -q -e "$REPO${DOCKYARD_EXTRAS:+[$DOCKYARD_EXTRAS]}" 2>&1 \
        | grep -v -e "^WARNING: Location" -e "BuildBackendWarning" || true
    python -c "import dockyard" || { echo "dockyard failed to install" >&2; exit 1; }
    touch "$stamp"
fi
