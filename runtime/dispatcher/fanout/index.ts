export { BrokerFanOut, FAN_OUT_MAX_IN_FLIGHT, fanOutSourcesKey } from './broker-fan-out';
export type { BrokerFanOutDeps, BrokerFanOutTarget, FanOutChannelSource } from './broker-fan-out';
export { Lane } from './lane';
export type { LaneTask } from './lane';
export { decodeParked, encodeParked, parkedAttributes } from './parked';
export type { Parked, ParkedHeader } from './parked';
export { SharedSettlement } from './settlement';
export { FanOutShare, ParkedMessage } from './shares';
export type { Park } from './shares';
