#!/usr/bin/env bats
# symfony.bats - Symfony Messenger's AMQP transport (Debian's
# php-symfony-amqp-messenger, on the php-amqp extension) against the
# AMQP door, driven from PHP without a Symfony application, as a worker
# drives it: send (a durable fanout exchange and queue, both named by the
# DSN), receive with basic.get, ack, reject, and delayed messages, which
# Messenger keeps in a queue of its own with x-message-ttl and
# x-dead-letter-exchange, fed by its exchange "delays": a message with a
# DelayStamp arrives once its delay ran out.

load ../lib.sh
load amqp.sh

setup() {
	amqp_setup || return 1
	php -r 'require "Symfony/Component/Messenger/autoload.php";
	    new AMQPConnection();
	    class_exists("Symfony\\Component\\Messenger\\Bridge\\Amqp\\Transport\\AmqpTransport") or exit(1);' || {
		missing "Symfony Messenger's AMQP transport (php-symfony-amqp-messenger, php-amqp)"
		return 1
	}
	amqp_up
	export MESSENGER_PHP=$BATS_TEST_DIRNAME/../messenger.php
	export PRELUDE=$BATS_TEST_TMPDIR/prelude.php
	cat > "$PRELUDE" <<'PHP'
<?php
require getenv('MESSENGER_PHP');

use Symfony\Component\Messenger\Bridge\Amqp\Transport\AmqpTransport;
use Symfony\Component\Messenger\Bridge\Amqp\Transport\Connection;
use Symfony\Component\Messenger\Transport\Serialization\PhpSerializer;

// transport(): the transport of the DSN
// amqp://guest:guest@127.0.0.1:PORT/%2f/messages: the exchange and the
// queue "messages".
function transport()
{
	global $argv;
	$dsn = "amqp://guest:guest@127.0.0.1:{$argv[1]}/%2f/messages";
	return new AmqpTransport(Connection::fromDsn($dsn), new PhpSerializer());
}
PHP
}

@test "symfony amqp: send, receive in order, ack; the message count" {
	php_run <<'PHP'
<?php
require getenv('PRELUDE');
use Symfony\Component\Messenger\Envelope;
$t = transport();
$t->send(new Envelope(new Note('one')));
$t->send(new Envelope(new Note("two\r\nlines \0 and a NUL")));
check($t->getMessageCount() === 2, 'two waiting');
$e = receive($t);
check($e->getMessage()->text === 'one', 'first');
$t->ack($e);
$e = receive($t);
check($e->getMessage()->text === "two\r\nlines \0 and a NUL", 'second, binary-safe');
$t->ack($e);
check(iterator_to_array($t->get()) === array(), 'nothing left');
check($t->getMessageCount() === 0, 'none waiting');
echo "ok\n";
PHP
	# The queue is the stream, and holds nothing unacknowledged.
	none_pending messages
}

@test "symfony amqp: a reject takes the message away; another worker gets the next" {
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
$w = transport();
$e = receive($w);
check($e->getMessage()->text === 'good', 'second worker');
$w->ack($e);
check(iterator_to_array($t->get()) === array(), 'nothing left');
echo "ok\n";
PHP
	# Rejected without a dead-letter exchange: the queue's dead letters.
	run "$MQ_BIN/mq-dlq" list messages
	[ "${#lines[@]}" -eq 1 ]
	[ "$(cut -f2 <<< "$output")" = rejected ]
	none_pending messages
}

@test "symfony amqp: a delayed message waits in its delay queue, then arrives" {
	php_run <<'PHP'
<?php
require getenv('PRELUDE');
use Symfony\Component\Messenger\Envelope;
use Symfony\Component\Messenger\Stamp\DelayStamp;
$t = transport();
$t->send(new Envelope(new Note('in an hour'), [new DelayStamp(3600000)]));
$t->send(new Envelope(new Note('soon'), [new DelayStamp(300)]));
$t->send(new Envelope(new Note('now')));
$e = receive($t);
check($e->getMessage()->text === 'now', 'the undelayed one first');
$t->ack($e);
// No consumer reads the delay queue: the server expires it on time.
$e = receive($t);
check($e->getMessage()->text === 'soon', 'the due one');
check($e->getMessage() instanceof Note, 'whole');
$t->ack($e);
check(iterator_to_array($t->get()) === array(), 'the other is not due');
echo "ok\n";
PHP
	# The hour's waits in its queue; the due one left its own.
	[ "$(cli XLEN delay_messages__3600000_delay)" = 1 ]
	[ "$("$MQ_BIN/mq-dlq" count delay_messages__300_delay)" = 0 ]
}
