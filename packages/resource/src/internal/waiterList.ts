/** A node of `WaiterList`: the list links it in place, so removal from the middle is O(1). */
export interface ListNode {
  prev: ListNode | undefined;
  next: ListNode | undefined;
  linked: boolean;
}

/** An intrusive FIFO: push at the tail, shift from the head, remove any node (abort, timeout) in O(1). */
export class WaiterList<T extends ListNode> {
  private head: T | undefined;
  private tail: T | undefined;
  /** Number of nodes in the list. */
  size = 0;

  push(node: T): void {
    node.prev = this.tail;
    node.next = undefined;
    node.linked = true;
    if (this.tail === undefined) this.head = node;
    else this.tail.next = node;
    this.tail = node;
    this.size++;
  }

  shift(): T | undefined {
    const node = this.head;
    if (node !== undefined) this.remove(node);
    return node;
  }

  /** Unlinks `node`; a node no longer in the list is left alone. */
  remove(node: T): void {
    if (!node.linked) return;
    if (node.prev === undefined) this.head = node.next as T | undefined;
    else node.prev.next = node.next;
    if (node.next === undefined) this.tail = node.prev as T | undefined;
    else node.next.prev = node.prev;
    node.prev = undefined;
    node.next = undefined;
    node.linked = false;
    this.size--;
  }
}
