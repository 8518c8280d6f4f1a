#!/usr/bin/env bats
# tools.bats - the AMQP door with amqp-tools (rabbitmq-c 0.11's command
# line programs, PLAIN logins, no consumer_cancel_notify): declare a
# queue (named and server-named), publish to the default exchange with
# properties and headers, get, consume running a command per message,
# and delete, as a shell script would.

load ../lib.sh
load amqp.sh

# amqp CMD [ARG]...: amqp-CMD against the door (bounded, as a broken
# server must not hang the run).
amqp() {
	local cmd=$1
	shift
	timeout 20 "amqp-$cmd" -s 127.0.0.1 --port "$AMQP_PORT" "$@"
}

@test "amqp-tools: declare, publish to the default exchange, get, delete" {
	require_program /usr/bin/amqp-publish
	amqp_up
	run amqp declare-queue -q jobs
	[ "$status" -eq 0 ] && [ "$output" = jobs ]
	run amqp declare-queue -q ""
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^amq\.gen-[A-Za-z0-9_-]{22}$ ]]

	amqp publish -r jobs -b one
	printf 'two\nthree\n' | amqp publish -r jobs -l
	amqp publish -r jobs -C text/plain -p -H "tenant: acme" -b four
	# What the door kept of the properties and the header.
	run "$MQ_BIN/mq-xrange" -o json jobs
	echo "$output"
	[ "${#lines[@]}" -eq 4 ]
	[[ "${lines[3]}" == *'"headers":{"content-type":"text/plain","tenant":"acme","delivery-mode":"2"},"body":"four"'* ]]

	for body in one two three four; do
		run amqp get -q jobs
		[ "$status" -eq 0 ] && [ "$output" = "$body" ]
	done
	# Nothing left: amqp-get exits 2.
	run amqp get -q jobs
	[ "$status" -eq 2 ] && [ -z "$output" ]
	none_pending jobs

	amqp publish -r jobs -b left
	run amqp delete-queue -q jobs
	[ "$status" -eq 0 ] && [ "$output" = 1 ]
	run amqp delete-queue -q jobs
	[ "$status" -eq 0 ] && [ "$output" = 0 ]
	[ "$(cli EXISTS jobs)" = 0 ]
	run amqp get -q jobs
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"server channel error 404, message: NOT_FOUND - no queue 'jobs' in vhost '/'"* ]]
}

@test "amqp-tools: amqp-consume -c N runs a command per message, acked after it" {
	require_program /usr/bin/amqp-consume
	amqp_up
	amqp declare-queue -q jobs
	for m in m1 m2 m3 m4; do
		amqp publish -r jobs -b "$m"
	done
	# The body on the command's stdin, one run per message, in order.
	run amqp consume -q jobs -c 3 -p 1 -- sh -c 'cat >> got; echo >> got'
	[ "$status" -eq 0 ]
	[ "$(cat got)" = "$(printf 'm1\nm2\nm3')" ]
	# The fourth is still there (delivered after the third ack, it was
	# handed back at the close); the three were acknowledged, and
	# amqp-get takes the fourth without an ack.
	run amqp get -q jobs
	[ "$output" = m4 ]
	wait_until none_pending jobs
	[ "$(cli XLEN jobs)" = 4 ]
}
