#!/usr/bin/env bats
# symfony-messenger.bats - Symfony Messenger's Redis transport (Debian's
# php-symfony-redis-messenger, on phpredis) against mq-serve: send,
# receive, ack, reject, delayed messages and retries with a delay (kept
# in the sorted set <stream>__queue), as a Symfony worker does them.
# See /work/shared/specs/resp.md for the commands this sends.

load lib.sh

setup() {
	interop_setup || return 1
	php -r 'require "Symfony/Component/Messenger/autoload.php"; new Redis();' || {
		echo "no Symfony Messenger or phpredis: sh scripts/install-deps.sh --test" >&2
		return 1
	}
	mq_up
	export MESSENGER_PHP=$BATS_TEST_DIRNAME/messenger.php
	export PRELUDE=$BATS_TEST_TMPDIR/prelude.php
	cat > "$PRELUDE" <<'PHP'
<?php
require getenv('MESSENGER_PHP');

use Symfony\Component\Messenger\Bridge\Redis\Transport\Connection;
use Symfony\Component\Messenger\Bridge\Redis\Transport\RedisTransport;
use Symfony\Component\Messenger\Transport\Serialization\PhpSerializer;

// transport(OPTIONS): the transport of the DSN
// redis://127.0.0.1:PORT/messages/symfony/consumer?OPTIONS
function transport($options = '')
{
	global $argv;
	$dsn = "redis://127.0.0.1:{$argv[1]}/messages/symfony/consumer";
	if ($options !== '')
		$dsn .= "?$options";
	return new RedisTransport(Connection::fromDsn($dsn), new PhpSerializer());
}
PHP
}

php_run() {
	run php -d display_errors=stderr -- "$MQ_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[${#lines[@]}-1]}" = ok ]
}

@test "symfony-messenger: send, receive in order, ack (delete_after_ack)" {
	php_run <<'PHP'
<?php
require getenv('PRELUDE');
use Symfony\Component\Messenger\Envelope;
$t = transport('delete_after_ack=true');
$t->send(new Envelope(new Note('one')));
$t->send(new Envelope(new Note("two\r\nlines \0 and a NUL")));
$e = receive($t);
check($e->getMessage()->text === 'one', 'first');
$t->ack($e);
$e = receive($t);
check($e->getMessage()->text === "two\r\nlines \0 and a NUL", 'second, binary-safe');
$t->ack($e);
check(iterator_to_array($t->get()) === array(), 'nothing left');
echo "ok\n";
PHP
	run cli XLEN messages
	[ "$output" = 0 ]
	run cli XPENDING messages symfony
	[ "${lines[0]}" = 0 ]
}

@test "symfony-messenger: a reject removes the message; another worker sees the rest" {
	php_run <<'PHP'
<?php
require getenv('PRELUDE');
use Symfony\Component\Messenger\Envelope;
$t = transport();
$t->send(new Envelope(new Note('bad')));
$t->send(new Envelope(new Note('good')));
$e = receive($t);
check($e->getMessage()->text === 'bad', 'first');
$t->reject($e);
// A second connection (a second worker process) takes the next one.
$w = transport();
$e = receive($w);
check($e->getMessage()->text === 'good', 'second worker');
$w->ack($e);
echo "ok\n";
PHP
	# Without delete_after_ack the acked entry stays; the rejected one goes.
	run cli XLEN messages
	[ "$output" = 1 ]
	run cli XPENDING messages symfony
	[ "${lines[0]}" = 0 ]
}

@test "symfony-messenger: an unacked message is redelivered to its consumer" {
	php_run <<'PHP'
<?php
require getenv('PRELUDE');
use Symfony\Component\Messenger\Envelope;
transport()->send(new Envelope(new Note('crash')));
$e = receive(transport());
check($e->getMessage()->text === 'crash', 'delivered');
// The worker died before the ack: a new worker with the same consumer
// name gets the pending message first.
$t = transport();
$e = receive($t);
check($e->getMessage()->text === 'crash', 'redelivered');
$t->ack($e);
echo "ok\n";
PHP
}

@test "symfony-messenger: a delayed message waits (ZADD/ZCOUNT/ZPOPMIN), then arrives" {
	php_run <<'PHP'
<?php
require getenv('PRELUDE');
use Symfony\Component\Messenger\Envelope;
use Symfony\Component\Messenger\Stamp\DelayStamp;
$t = transport();
$t->send(new Envelope(new Note('in an hour'), [new DelayStamp(3600000)]));
check(iterator_to_array($t->get()) === array(), 'not due yet');
$t->send(new Envelope(new Note('soon'), [new DelayStamp(100)]));
$e = receive($t);
check($e->getMessage()->text === 'soon', 'due one');
$t->ack($e);
echo "ok\n";
PHP
	run cli ZCOUNT messages__queue 0 99999999999999
	[ "$output" = 1 ]
}

@test "symfony-messenger: a failed message is retried after its delay, then acked" {
	php_run <<'PHP'
<?php
require getenv('PRELUDE');
use Symfony\Component\Messenger\Envelope;
use Symfony\Component\Messenger\Retry\MultiplierRetryStrategy;
use Symfony\Component\Messenger\Stamp\DelayStamp;
use Symfony\Component\Messenger\Stamp\RedeliveryStamp;
$redis = new Redis();
$redis->connect('127.0.0.1', (int)$argv[1]);
$t = transport();
$t->send(new Envelope(new Note('flaky')));
$e = receive($t);
check(RedeliveryStamp::getRetryCountFromEnvelope($e) === 0, 'first delivery');
// The handler failed.  What the Worker does then: its retry listener
// (SendFailedMessageForRetryListener) sends a copy with the strategy's
// delay and a retry count, and the Worker rejects the original.
$retry = new MultiplierRetryStrategy(3, 300);
check($retry->isRetryable($e), 'retryable');
$t->send($e->with(new DelayStamp($retry->getWaitingTime($e)),
    new RedeliveryStamp(1)));
$t->reject($e);
check($redis->zCard('messages__queue') === 1, 'the copy waits in the sorted set');
check($redis->xLen('messages') === 0, 'the original is gone');
$e = receive($t);
check($e->getMessage()->text === 'flaky', 'retried');
check(RedeliveryStamp::getRetryCountFromEnvelope($e) === 1, 'retry count');
$t->ack($e);
check($redis->exists('messages__queue') === 0, 'the emptied set is gone');
echo "ok\n";
PHP
	run cli XPENDING messages symfony
	[ "${lines[0]}" = 0 ]
}
