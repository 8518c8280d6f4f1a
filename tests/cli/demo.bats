#!/usr/bin/env bats
# demo.bats: scripts/demo.sh, which the README's first command runs after
# the build, does what the README says on a spool of its own.

load helpers

@test "demo: the orders are consumed, the odd ones dead-lettered after two tries" {
	run timeout 120 sh "$REPO/scripts/demo.sh"
	[ "$status" -eq 0 ]
	[[ "$output" == *"worker: "*" order-2: billed, ack"* ]]
	[[ "$output" == *"nothing left to read"* ]]
	[ "$(mq-dlq count demo.orders)" -eq 3 ]
	[ "$(mq-dlq list demo.orders | cut -f2,4,5 | paste -sd' ')" = \
	    "$(printf 'delivery-limit\t2\torder-1 delivery-limit\t2\torder-3 delivery-limit\t2\torder-5')" ]
	[ -z "$(mq-xreadgroup billing other demo.orders)" ]
}
