#!/usr/bin/env bats
# php.bats - the AMQP door with PHP's two clients: php-amqplib (pure
# PHP, logging in with AMQPLAIN) consuming with a callback and acks, and
# the php-amqp extension (on rabbitmq-c; what Symfony Messenger's AMQP
# transport uses) with AMQPQueue get, nack and ack.  Both through the
# default exchange.

load ../lib.sh
load amqp.sh

# require_extension NAME: skips the test when PHP has no extension NAME
# (missing).
require_extension() {
	php -m | grep -qx "$1" && return 0
	missing "PHP extension $1"
}

@test "php-amqplib: basic_consume with a callback and acks, prefetch 2" {
	amqp_up
	php_run <<'PHP'
<?php
require "/usr/share/php/PhpAmqpLib/autoload.php";
use PhpAmqpLib\Connection\AMQPStreamConnection;
use PhpAmqpLib\Message\AMQPMessage;
use PhpAmqpLib\Wire\AMQPTable;
$c = new AMQPStreamConnection("127.0.0.1", (int)$argv[1], "guest", "guest");
$ch = $c->channel();
list($name, $count, ) = $ch->queue_declare("tasks", false, true, false, false);
echo "declared $name $count\n";
for ($i = 0; $i < 5; $i++)
	$ch->basic_publish(new AMQPMessage("task $i", ["delivery_mode" => 2,
	    "application_headers" => new AMQPTable(["n" => $i])]), "", "tasks");
$ch->basic_qos(0, 2, false);
$got = 0;
$tag = $ch->basic_consume("tasks", "", false, false, false, false,
    function ($m) use (&$got) {
	$h = $m->get("application_headers")->getNativeData();
	echo $m->getBody(), " n=", $h["n"], " tag=", $m->getDeliveryTag(),
	    " redelivered=", var_export($m->isRedelivered(), true), "\n";
	$got++;
	$m->ack();
});
echo "consumer ", preg_match('/^amq\.ctag-[A-Za-z0-9_-]{22}$/', $tag), "\n";
while ($got < 5)
	$ch->wait(null, false, 10);
$ch->basic_cancel($tag);
list(, $count, $consumers) = $ch->queue_declare("tasks", true);
echo "left $count $consumers\n";
$ch->close();
$c->close();
echo "ok\n";
PHP
	[ "${lines[0]}" = "declared tasks 0" ]
	[ "${lines[1]}" = "consumer 1" ]
	for i in 0 1 2 3 4; do
		[ "${lines[i + 2]}" = "task $i n=$i tag=$((i + 1)) redelivered=false" ]
	done
	[ "${lines[7]}" = "left 0 0" ]
	none_pending tasks
}

@test "php-amqp: AMQPQueue get, nack with requeue, ack and auto-ack, delete" {
	require_extension amqp
	amqp_up
	php_run <<'PHP'
<?php
$c = new AMQPConnection(["host" => "127.0.0.1", "port" => (int)$argv[1]]);
$c->connect();
$ch = new AMQPChannel($c);
$q = new AMQPQueue($ch);
$q->setName("php");
echo "declared ", $q->declareQueue(), "\n";
$ex = new AMQPExchange($ch);
$ex->publish("hello", "php", AMQP_NOPARAM, ["content_type" => "text/plain",
    "headers" => ["tenant" => "acme", "n" => 3]]);
$ex->publish("second", "php");
$e = $q->get();
echo $e->getBody(), " ", $e->getContentType(), " ",
    json_encode($e->getHeaders()), " tag=", $e->getDeliveryTag(),
    " redelivered=", var_export($e->isRedelivery(), true), "\n";
$q->nack($e->getDeliveryTag(), AMQP_REQUEUE);
$e = $q->get();
echo $e->getBody(), " redelivered=", var_export($e->isRedelivery(), true), "\n";
$q->ack($e->getDeliveryTag());
echo $q->get(AMQP_AUTOACK)->getBody(), "\n";
var_export($q->get());
echo "\n";
$ex->publish("left", "php");
echo "deleted ", $q->delete(), "\n";
$c->disconnect();
echo "ok\n";
PHP
	[ "${lines[0]}" = "declared 0" ]
	[ "${lines[1]}" = 'hello text/plain {"tenant":"acme","n":3} tag=1 redelivered=false' ]
	[ "${lines[2]}" = "hello redelivered=true" ]
	[ "${lines[3]}" = second ]
	[ "${lines[4]}" = false ]
	[ "${lines[5]}" = "deleted 1" ]
	[ "$(cli EXISTS php)" = 0 ]
}
