import { describe, expect, it } from 'vitest';
import {
  brokerList,
  kafkaNodes,
  newClusterId,
  renderKafkaPom,
  renderLog4j2,
  renderServerProperties,
} from '../../../../deploy/local/kafka.ts';
import { stackLayout } from '../../../../deploy/local/layout.ts';

const layout = stackLayout('/tmp/rheo-stack-unit', '/tmp/rheo-root');

function parse(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

describe('renderServerProperties', () => {
  it('makes one combined KRaft node with replication 1 and no auto-created topics', () => {
    const nodes = kafkaNodes(layout, 1);
    const props = parse(renderServerProperties(nodes[0]!, nodes));
    expect(props).toMatchObject({
      'process.roles': 'broker,controller',
      'node.id': '0',
      'controller.quorum.voters': '0@127.0.0.1:19093',
      listeners: 'PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093',
      'advertised.listeners': 'PLAINTEXT://127.0.0.1:19092',
      'controller.listener.names': 'CONTROLLER',
      'log.dirs': '/tmp/rheo-stack-unit/kafka/brokers-1/node-0/data',
      'default.replication.factor': '1',
      'min.insync.replicas': '1',
      'offsets.topic.replication.factor': '1',
      'transaction.state.log.replication.factor': '1',
      'transaction.state.log.min.isr': '1',
      'group.initial.rebalance.delay.ms': '0',
      'auto.create.topics.enable': 'false',
    });
  });

  it('makes three nodes with a 3-voter quorum, RF 3 and min ISR 2', () => {
    const nodes = kafkaNodes(layout, 3);
    expect(nodes.map((n) => [n.id, n.brokerPort, n.controllerPort])).toEqual([
      [0, 19092, 19093],
      [1, 19094, 19095],
      [2, 19096, 19097],
    ]);
    const props = parse(renderServerProperties(nodes[2]!, nodes));
    expect(props).toMatchObject({
      'node.id': '2',
      'controller.quorum.voters': '0@127.0.0.1:19093,1@127.0.0.1:19095,2@127.0.0.1:19097',
      listeners: 'PLAINTEXT://127.0.0.1:19096,CONTROLLER://127.0.0.1:19097',
      'log.dirs': '/tmp/rheo-stack-unit/kafka/brokers-3/node-2/data',
      'default.replication.factor': '3',
      'min.insync.replicas': '2',
      'offsets.topic.replication.factor': '3',
      'transaction.state.log.replication.factor': '3',
      'transaction.state.log.min.isr': '2',
    });
    expect(brokerList(3)).toEqual(['127.0.0.1:19092', '127.0.0.1:19094', '127.0.0.1:19096']);
  });
});

describe('Kafka helpers', () => {
  it('generates KRaft cluster ids of 22 base64url characters', () => {
    for (let i = 0; i < 50; i++) expect(newClusterId()).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });

  it('writes the broker log under the logs directory', () => {
    expect(renderLog4j2('/x/logs', 'kafka-1')).toContain('fileName="/x/logs/kafka-1.log"');
  });

  it('resolves kafka_2.13 at the requested version', () => {
    expect(renderKafkaPom('4.4.0')).toContain('<artifactId>kafka_2.13</artifactId><version>4.4.0</version>');
  });
});
