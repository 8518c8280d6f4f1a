#!/usr/bin/env bats
# predis.bats - php with Debian's predis (php-nrk-predis) against mq-serve,
# making the calls of the seed's PHP examples: xadd, xread, publish, and a
# pubSubLoop subscriber.  predis 1.1 has no stream commands of its own, so
# xadd and xread are defined here through its profile (defineCommand), with
# the seed's signatures: xadd(key, id, [field => value]) and
# xread([stream => id], count, block).

load lib.sh

setup() {
	interop_setup || return 1
	php -r 'require "Predis/autoload.php";' || {
		echo "no php or predis: sh scripts/install-deps.sh --test" >&2
		return 1
	}
	mq_up
	export PRELUDE=$BATS_TEST_TMPDIR/prelude.php
	cat > "$PRELUDE" <<'PHP'
<?php
require 'Predis/autoload.php';

class SeedXAdd extends Predis\Command\Command
{
	public function getId() { return 'XADD'; }

	protected function filterArguments(array $args)
	{
		$out = array($args[0], $args[1]);
		foreach ($args[2] as $field => $value) {
			$out[] = $field;
			$out[] = $value;
		}
		return $out;
	}
}

class SeedXRead extends Predis\Command\Command
{
	public function getId() { return 'XREAD'; }

	protected function filterArguments(array $args)
	{
		$out = array();
		if (isset($args[1])) { $out[] = 'COUNT'; $out[] = $args[1]; }
		if (isset($args[2])) { $out[] = 'BLOCK'; $out[] = $args[2]; }
		$out[] = 'STREAMS';
		foreach ($args[0] as $stream => $id) $out[] = $stream;
		foreach ($args[0] as $stream => $id) $out[] = $id;
		return $out;
	}
}

function client(array $options = array())
{
	global $argv;
	$c = new Predis\Client(array('scheme' => 'tcp', 'host' => '127.0.0.1',
	    'port' => (int)$argv[1], 'read_write_timeout' => 10) + $options);
	$c->getProfile()->defineCommand('xadd', 'SeedXAdd');
	$c->getProfile()->defineCommand('xread', 'SeedXRead');
	return $c;
}

function check($cond, $what)
{
	if (!$cond) {
		fwrite(STDERR, "failed: $what\n");
		exit(1);
	}
}
PHP
}

# php_run: runs the PHP script on stdin with the port as its argument.
php_run() {
	run php -d display_errors=stderr -- "$MQ_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[${#lines[@]}-1]}" = ok ]
}

@test "predis: ping, executeRaw" {
	php_run <<'PHP'
<?php
require getenv('PRELUDE');
$redis = client();
check((string)$redis->ping() === 'PONG', 'ping');
check($redis->executeRaw(array('XADD', 's', '1-0', 'f', 'v')) === '1-0', 'raw xadd');
check($redis->executeRaw(array('XLEN', 's')) === 1, 'raw xlen');
$err = $redis->executeRaw(array('XADD', 's', '1-0', 'f', 'v'), $error);
check($error === true && strpos($err, 'ERR The ID specified in XADD') === 0, 'raw error');
echo "ok\n";
PHP
}

@test "predis: the seed's xadd('motifiction_stream', '*', ['message' => 'Hello!'])" {
	php_run <<'PHP'
<?php
require getenv('PRELUDE');
$redis = client();
$id = $redis->xadd('motifiction_stream', '*', ['message' => 'Hello!']);
check(preg_match('/^[0-9]+-[0-9]+$/', $id) === 1, "id $id");
$range = $redis->executeRaw(array('XRANGE', 'motifiction_stream', '-', '+'));
check($range === array(array($id, array('message', 'Hello!'))), 'xrange: ' . var_export($range, true));
echo "ok\n";
PHP
}

@test "predis: the seed's xread(['notifications_stream' => '0'], 10, 3000)" {
	php_run <<'PHP'
<?php
require getenv('PRELUDE');
$redis = client();
$ids = array();
for ($i = 0; $i < 12; $i++)
	$ids[] = $redis->xadd('notifications_stream', '*', ['message' => "Hello $i!"]);
$messages = $redis->xread(['notifications_stream' => '0'], 10, 3000);
check(count($messages) === 1 && $messages[0][0] === 'notifications_stream', 'one stream');
check(count($messages[0][1]) === 10, 'COUNT 10');
check($messages[0][1][0] === array($ids[0], array('message', 'Hello 0!')), 'first entry');
$rest = $redis->xread(['notifications_stream' => $ids[9]], 10, 3000);
check(count($rest[0][1]) === 2 && $rest[0][1][1][0] === $ids[11], 'after the 10th');
// '$': only new entries; none come, so the block times out with nil.
check($redis->xread(['notifications_stream' => '$'], 10, 100) === null, 'timeout');
echo "ok\n";
PHP
}

@test "predis: the seed's publish('notifications', json) reaches a pubSubLoop subscriber" {
	php -d display_errors=stderr -- "$MQ_PORT" > sub.out 2>&1 3>&- <<'PHP' &
<?php
require getenv('PRELUDE');
$pubsub = client()->pubSubLoop();
$pubsub->subscribe('notifications');
foreach ($pubsub as $message) {
	if ($message->kind === 'subscribe')
		echo "subscribed {$message->channel} {$message->payload}\n";
	if ($message->kind === 'message') {
		echo "message {$message->channel} {$message->payload}\n";
		$pubsub->unsubscribe();
	}
}
echo "done\n";
PHP
	STARTED_PIDS="$! $STARTED_PIDS"
	wait_until file_has_lines sub.out 1
	[ "$(cat sub.out)" = 'subscribed notifications 1' ]
	php_run <<'PHP'
<?php
require getenv('PRELUDE');
$redis = client();
check($redis->publish('notifications', json_encode(['message' => 'Hello!'])) === 1, 'one receiver');
check($redis->publish('elsewhere', 'x') === 0, 'no receiver');
echo "ok\n";
PHP
	wait_until file_has_lines sub.out 3
	[ "$(cat sub.out)" = "$(printf '%s\n' 'subscribed notifications 1' \
	    'message notifications {"message":"Hello!"}' done)" ]
}

@test "predis: pipeline and transaction" {
	php_run <<'PHP'
<?php
require getenv('PRELUDE');
$redis = client();
$res = $redis->pipeline(function ($pipe) {
	for ($i = 1; $i <= 50; $i++)
		$pipe->xadd('s', "$i-0", ['n' => "$i"]);
});
check(count($res) === 50 && $res[49] === '50-0', 'pipeline');
$res = $redis->transaction(function ($tx) {
	$tx->xadd('s', '51-0', ['n' => '51']);
	$tx->ping();
});
check($res[0] === '51-0' && (string)$res[1] === 'PONG', 'transaction');
check($redis->executeRaw(array('XLEN', 's')) === 51, 'xlen');
echo "ok\n";
PHP
}
