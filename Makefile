# rollwatch: thin wrapper around CMake so the quick start is `make run` and `make test`.
BUILD      ?= build
BUILD_TYPE ?= Release
JOBS       ?= 2
# Debian 12 packages needed to build and test: the libraries, and for the tests jq (checks
# JSON), python3 (scripted HTTP receivers), curl, a real Alertmanager and Prometheus,
# Chromium (renders the HTML report), mtail and syslog-ng (the benchmark's programs are checked).
DEB_PACKAGES = cmake make gcc pkg-config libuv1-dev libyajl-dev libpcre2-dev \
               libcurl4-openssl-dev libssl-dev libcmocka-dev jq python3 curl \
               prometheus-alertmanager prometheus chromium mtail syslog-ng-core
SAMPLES = examples/deploy-success.log examples/deploy-rollback.log \
          examples/deploy-crashloop.log examples/kubectl-service.log

.PHONY: all deps build run test asan fuzz bench clean

all: build

# Installs what is missing when root; otherwise prints the exact apt-get line and stops.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "missing packages; run:"; echo "  sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# The main job on the bundled samples: the failures each one shows, with their hints.
run: build
	@./$(BUILD)/rollwatch check-rules --rules rules.d
	@for f in $(SAMPLES); do \
	  echo; echo "== $$f"; \
	  ./$(BUILD)/rollwatch replay --rules rules.d --app myapp --output text $$f || exit 1; \
	done

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

# The suite again under AddressSanitizer + UBSan (what CI runs second).
asan: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DENABLE_ASAN=ON -DENABLE_UBSAN=ON
	cmake --build build-asan -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir build-asan --output-on-failure -j$(JOBS)

# libFuzzer binaries (clang); run one with e.g. build-fuzz/tests/fuzz_parse_line -max_total_time=60
fuzz: deps
	cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DENABLE_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build build-fuzz -j$(JOBS)

bench: build
	bench/run.sh

clean:
	rm -rf $(BUILD) build-asan build-fuzz
