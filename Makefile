# mlbench: the same model deployed as a monolith and as gateway + prediction services,
# loaded identically and compared. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

NODE ?= node
MLBENCH := $(NODE) scripts/orchestrator/dist/cli.js
# Extra flags for the bench targets, e.g. `make bench ARGS="--slo-ms 10"`.
ARGS ?=

INSTALL_STAMP := node_modules/.package-lock.json
BUILD_STAMP := scripts/orchestrator/dist/cli.js
MODEL := services/model/artifacts/default.json
SOURCES := $(shell find services scripts -path '*/node_modules' -prune -o -path '*/dist' -prune -o \( -name '*.ts' -o -name 'package.json' -o -name 'tsconfig.json' \) -print 2>/dev/null)

.PHONY: help install build test test-unit test-integration test-engine lint bench bench-quick bench-sweep bench-monolith bench-microservices bench-resilience bench-article report clean \
	engine images up-monolith up-microservices down compose-config compose-nginx-conf bench-docker perf \
	swarm-up swarm-down bench-swarm swarm-cluster-up swarm-cluster-down bench-swarm-cluster k8s-render push-images

# Docker: OFFLINE=1 builds the base images here (no registry); OBS=1 adds Prometheus (+ Grafana
# where its image can be had); SCALE=N replicas of the scaled tier.
OFFLINE ?= 0
OBS ?= 0
SCALE ?= 1
# Compose: GATEWAY=nginx puts nginx in front of the prediction replicas instead of our gateway.
GATEWAY ?= fastify
# Swarm: which topology `make swarm-up` deploys; how many nodes `make swarm-cluster-up` makes.
TOPOLOGY ?= microservices
NODES ?= 3

help: ## Show this list of targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-22s\033[0m %s\n", $$1, $$2}'

$(INSTALL_STAMP): package.json package-lock.json $(wildcard services/*/package.json scripts/*/package.json)
	npm ci --no-audit --no-fund
	@touch $@

install: $(INSTALL_STAMP) ## Install dependencies (npm ci)

$(BUILD_STAMP): $(INSTALL_STAMP) $(SOURCES) tsconfig.base.json tsconfig.json
	npx tsc --build
	@touch $@

$(MODEL): | $(BUILD_STAMP)
	npm run --silent -w @mlbench/model train:default

build: $(BUILD_STAMP) $(MODEL) ## Compile every package and train the default model

# Test lanes, by file name (docs/testing.md): *.test.ts start no process and open no port (a
# guard fails any that does), so they run in parallel; *.integration.test.ts start real servers
# and child processes; *.engine.test.ts need Docker, Swarm, Prometheus or kubectl. Integration
# files marked "// test: timed" measure rates and latency on the two cores and run alone; the
# rest, and the engine lane, whose tests mostly wait on the engine, run side by side.
find_tests = $(shell find services scripts -path '*/node_modules' -prune -o -path '*/test/*' -name '*.test.ts' $(1) -print | sort)
UNIT_TESTS = $(call find_tests,! -name '*.integration.test.ts' ! -name '*.engine.test.ts')
INTEGRATION_TESTS = $(call find_tests,-name '*.integration.test.ts')
ENGINE_TESTS = $(call find_tests,-name '*.engine.test.ts')
marked = $(shell grep -l '^// test: $(1)' $(2) /dev/null)
TIMED_TESTS = $(call marked,timed,$(INTEGRATION_TESTS))
OTHER_INTEGRATION_TESTS = $(filter-out $(TIMED_TESTS),$(INTEGRATION_TESTS))
AS_USER_TESTS = $(call marked,as-user,$(UNIT_TESTS) $(INTEGRATION_TESTS))
TAP := TS_NODE_PROJECT="$(CURDIR)/tsconfig.test.json" npx tap
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# An ordinary user (CI sets it): the files marked "// test: as-user" run again as this user.
TEST_AS ?=
as_user = $(if $(TEST_AS),$(if $(filter $(AS_USER_TESTS),$(2)),scripts/test/as-user.sh $(TEST_AS) $(1) $(filter $(AS_USER_TESTS),$(2)),true),true)
# A lane beside others writes its own log, printed whole when it ends (no interleaved TAP).
beside = { $(1) > .test-logs/$(2).log 2>&1; echo $$? > .test-logs/$(2).status; }

# While the unit lane runs, the engine lane's images start building (as root, with an engine
# up). Then the other integration files (one at a time: most run a bench, and two benches beside
# the engine lane's starved each other in CI), the engine lane (once its images are made) and
# the as-user copies run side by side; last, the timed files, alone.
test: build ## Every test: unit, integration and engine lanes (the README's and CI's command)
	@status=0; rm -rf .test-logs; mkdir -p .test-logs; \
	[ -z "$(TEST_AS)" ] || scripts/test/as-user.sh --clean $(TEST_AS); \
	if [ "$$(id -u)" = 0 ] && docker info >/dev/null 2>&1; then \
	  scripts/docker/engine-images.sh > .test-logs/engine-images.log 2>&1 & fi; \
	$(MAKE) --no-print-directory test-unit || status=1; \
	$(call beside,$(TAP) --jobs=1 $(OTHER_INTEGRATION_TESTS),integration) & \
	$(call beside,$(call as_user,--jobs=1,$(filter-out $(TIMED_TESTS),$(AS_USER_TESTS))),as-user) & \
	$(call beside,$(MAKE) --no-print-directory test-engine,engine) & \
	wait; \
	for lane in integration as-user engine; do \
	  echo "# ---- $$lane lane"; cat .test-logs/$$lane.log; \
	  [ "$$(cat .test-logs/$$lane.status)" = 0 ] || status=1; done; \
	$(TAP) --jobs=1 $(TIMED_TESTS) || status=1; \
	$(call as_user,--jobs=1,$(TIMED_TESTS)) || status=1; \
	[ -z "$(TEST_AS)" ] || scripts/test/as-user.sh --clean $(TEST_AS); \
	exit $$status

test-unit: build ## Unit lane: no process, no port; files in parallel (< 2 min)
	$(TAP) --jobs=$(JOBS) --node-arg=--import=$(CURDIR)/scripts/test/unit-guard.mjs $(UNIT_TESTS)

test-integration: build ## Integration lane: the untimed files side by side, then the timed ones alone
	$(TAP) --jobs=$(JOBS) $(OTHER_INTEGRATION_TESTS)
	$(TAP) --jobs=1 $(TIMED_TESTS)

test-engine: build ## Engine lane: Docker, Swarm, Prometheus, Kubernetes rendering (mandatory under CI=true)
	@# Its images first, where they can be made here (a build already under way is waited for).
	@if [ "$$(id -u)" = 0 ] && docker info >/dev/null 2>&1; then \
	  scripts/docker/engine-images.sh || echo "engine images failed: the tests below say why"; fi
	$(TAP) --jobs=1 $(ENGINE_TESTS)

lint: install ## Lint: biome, workspace metadata, import cycles and layers, ignored sources, typecheck, docs' links
	node scripts/lint/check-workspace.mjs
	npx biome check .
	npx tsc --build
	npx tsc -p tsconfig.test.json
	npx tsc -p loadtests/k6/tsconfig.json
	node scripts/lint/check-docs.mjs

bench: build ## Both topologies, replicas 1 and 2, capacity search, model-cost sweep, report (< 10 min)
	$(MLBENCH) bench --preset full $(ARGS)

bench-sweep: build ## Model-cost sweep, 0.001 ms to 20 ms a prediction and a 512 MB model: the crossover (< 20 min)
	$(MLBENCH) bench --preset sweep $(ARGS)

bench-quick: build ## Both topologies, one replica, one short trial (< 1 min)
	$(MLBENCH) bench --preset quick $(ARGS)

bench-monolith: build ## The monolith alone, replicas 1 and 2, with capacity search
	$(MLBENCH) bench --preset full --topology monolith $(ARGS)

bench-microservices: build ## Gateway + prediction replicas alone, replicas 1 and 2, with capacity search
	$(MLBENCH) bench --preset full --topology microservices $(ARGS)

bench-resilience: build ## Both topologies, 3 replicas, one replica killed at 10 s: errors, recovery, p99 during the fault
	$(MLBENCH) bench --fault $(or $(FAULT),kill@10s) $(ARGS)

bench-article: build ## The article's Flask services and ours, started the same way, in one run: claim vs its code vs ours
	scripts/article/prepare.sh
	$(MLBENCH) bench --backend command --deployment reference/article/article.yaml,reference/mlbench.yaml \
	  --scenario article --preset quick $(ARGS)

report: build ## Re-render a report: make report DIR=results/<run-id>
	$(MLBENCH) report $(DIR)

perf: build ## Our components against their limits, side by side: ratios, targets met or not (< 10 min)
	$(MLBENCH) perf $(ARGS)

engine: ## Docker: use the running engine, else start dockerd, else install docker.io from apt (root)
	@scripts/docker/ensure-engine.sh >/dev/null

images: engine ## Docker: build the three service images and print their sizes (OFFLINE=1: no registry)
	OFFLINE=$(OFFLINE) scripts/docker/images.sh

up-monolith: engine ## Compose: the monolith on 127.0.0.1:8080 (SCALE=N, OBS=1), waits until healthy
	OBS=$(OBS) scripts/docker/stack.sh up monolith $(SCALE)

up-microservices: engine ## Compose: gateway on 127.0.0.1:8090 + prediction replicas (SCALE=N, OBS=1, GATEWAY=nginx)
	OBS=$(OBS) GATEWAY=$(GATEWAY) scripts/docker/stack.sh up microservices $(SCALE)

compose-nginx-conf: $(BUILD_STAMP) ## Compose: write compose/nginx/gateway.conf again from backends/nginx.ts
	$(NODE) --input-type=module -e "import('./scripts/orchestrator/dist/backends/nginx.js').then((m) => process.stdout.write(m.composeNginxConfig()))" > compose/nginx/gateway.conf.tmp
	mv compose/nginx/gateway.conf.tmp compose/nginx/gateway.conf

down: ## Compose: stop and remove every mlbench stack (and containers of bench runs that died)
	scripts/docker/stack.sh down
	-$(MLBENCH) down --docker

compose-config: ## Compose: validate every layering the Makefile uses
	@scripts/docker/stack.sh config

bench-docker: build engine ## The quick preset on Docker containers (needs make images)
	$(MLBENCH) bench --preset quick --backend docker $(ARGS)

swarm-up: engine ## Swarm: init a single-node swarm if none, deploy TOPOLOGY (SCALE=N) as a stack, wait
	scripts/docker/swarm.sh up $(TOPOLOGY) $(SCALE)

push-images: ## Swarm/Kubernetes: push the three images to the registry IMAGE_PREFIX names (tags them into it first)
	scripts/docker/swarm.sh push

swarm-down: ## Swarm: remove the mlbench stacks (and bench stacks that died); leave a swarm swarm-up made
	-$(MLBENCH) down --docker
	scripts/docker/swarm.sh down

bench-swarm: build engine ## The quick preset as Swarm stacks (needs make images; makes a single-node swarm if none)
	scripts/docker/swarm.sh init
	$(MLBENCH) bench --preset quick --backend swarm $(ARGS)

swarm-cluster-up: engine ## Swarm: a local NODES-node swarm (one engine per Docker-in-Docker node, zones, a registry; root)
	scripts/docker/swarm-cluster.sh up $(NODES)

swarm-cluster-down: ## Swarm: remove the local cluster (nodes, their volumes, the network, the engine sockets)
	scripts/docker/swarm-cluster.sh down

bench-swarm-cluster: build engine ## The quick preset across the local cluster's nodes (make swarm-cluster-up first)
	eval "$$(scripts/docker/swarm-cluster.sh env)" && $(MLBENCH) bench --preset quick --backend swarm $(ARGS)

k8s-render: ## Kubernetes: print the rendered manifests of both overlays (kubectl kustomize)
	@for t in monolith microservices; do echo "# --- deploy/k8s/overlays/$$t"; kubectl kustomize deploy/k8s/overlays/$$t; done

clean: ## Remove build output (keeps results/)
	npx tsc --build --clean
	rm -rf services/model/artifacts
