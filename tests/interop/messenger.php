<?php
// messenger.php - what the tests of Symfony Messenger's transports share
// (symfony-messenger.bats for Redis, amqp/symfony.bats for AMQP): its
// autoloader, a message class, waiting for an envelope, and checks.
require_once 'Symfony/Component/Messenger/autoload.php';

class Note
{
	public $text;
	public function __construct($text) { $this->text = $text; }
}

// receive(T): the next envelope of transport T, waiting up to 10 s for one.
function receive($t)
{
	$end = microtime(true) + 10;
	while (microtime(true) < $end) {
		foreach ($t->get() as $envelope)
			return $envelope;
		usleep(10000);
	}
	fwrite(STDERR, "nothing received in 10 s\n");
	exit(1);
}

function check($cond, $what)
{
	if (!$cond) {
		fwrite(STDERR, "failed: $what\n");
		exit(1);
	}
}
