#!/usr/bin/env bats
# mq7.bats: the examples of mq(7), the overview, run as written.

load helpers

@test "mq(7): the examples of the manual page" {
	printf '#!/bin/sh\ncut -f1\n' > worker
	printf '#!/bin/sh\ncat > /dev/null; echo "$1" >> charged\n' > charge
	chmod +x worker charge

	mq-xadd orders 'order 1' 'order 2'
	mq-xreadgroup -c 10 billing w1 orders | ./worker | mq-ack orders billing
	[ -z "$(mq-xpending orders billing)" ]

	mq-xadd -q orders 'order 3'
	timeout 30 mq-xreadgroup -f -x './charge "$MQ_ID"' -j 4 billing w1 orders 3>&- &
	bg+=($!)
	wait_until test -s charged
	kill -TERM "${bg[0]}"
	wait "${bg[0]}"
	[ "$(wc -l < charged)" -eq 1 ]

	mq-queue orders --delivery-limit 3
	mq-dlq list orders
	[ -z "$(mq-dlq list orders)" ]

	mkfifo ready
	mq-subscribe --ready-fd 3 'news.#' 3> ready > news.txt &
	bg+=($!)
	read -r _ < ready
	[ "$(mq-publish news.tech 'mq 0.1.0 is out')" = 1 ]
	wait_until test -s news.txt
	[ "$(cat news.txt)" = "$(printf 'news.tech\tmq 0.1.0 is out')" ]

	mq-subscribe -Q audit 'orders.#' >> audit.log
	[ ! -s audit.log ]
	mq-publish orders.eu.new 'order 5'
	mq-subscribe -Q audit 'orders.#' >> audit.log
	[ "$(cut -f2 audit.log)" = 'order 5' ]

	mq-xadd temps -- '-5 degrees'
	[ "$(mq-xrange temps | cut -f2)" = '-5 degrees' ]
}
