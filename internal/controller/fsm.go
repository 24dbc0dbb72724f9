package controller

import (
	"context"
	"fmt"
	"io"

	"github.com/hashicorp/raft"

	"samsa/internal/metadata"
)

// fsm is the Controller seen as a raft.FSM. Raft calls Apply, Snapshot and
// Restore from one goroutine.
type fsm Controller

// Apply decodes and applies one committed command entry. A rejected batch
// leaves the image unchanged and is returned as the entry's response.
func (machine *fsm) Apply(entry *raft.Log) interface{} {
	controller := (*Controller)(machine)
	if entry.Type != raft.LogCommand {
		return nil
	}
	records, err := metadata.DecodeBatch(entry.Data)
	if err != nil {
		controller.logger.Error("undecodable metadata entry", "index", entry.Index, "error", err)
		return err
	}
	next, err := controller.Image().Apply(entry.Index, records)
	if err != nil {
		controller.logger.Warn("rejected metadata entry", "index", entry.Index, "error", err)
		return err
	}
	controller.publish(next)
	return nil
}

// Snapshot captures the current (immutable) image.
func (machine *fsm) Snapshot() (raft.FSMSnapshot, error) {
	return (*Controller)(machine).Image().Snapshot(), nil
}

// Restore replaces the image with a snapshot.
func (machine *fsm) Restore(reader io.ReadCloser) error {
	defer reader.Close()
	image, err := metadata.ReadImage(reader)
	if err != nil {
		return fmt.Errorf("restore metadata snapshot: %w", err)
	}
	(*Controller)(machine).publish(image)
	return nil
}

// publish stores the new image and wakes the dispatcher.
func (c *Controller) publish(image *metadata.Image) {
	c.image.Store(image)
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// subscriber is one Subscribe callback and the image it last saw.
type subscriber struct {
	callback func(prev, next *metadata.Image)
	last     *metadata.Image
}

// Subscribe registers fn, called on the controller's dispatch goroutine
// with (previous, latest) images: first (empty image, current image), then
// after applied batches, in order. Batches applied in quick succession may
// be delivered as one step. fn must not call write methods synchronously.
func (c *Controller) Subscribe(fn func(prev, next *metadata.Image)) {
	c.mu.Lock()
	c.mu.subscribers = append(c.mu.subscribers, &subscriber{callback: fn, last: metadata.Empty()})
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// dispatch delivers new images to subscribers until Close.
func (c *Controller) dispatch() {
	defer c.group.Done()
	for {
		select {
		case <-c.done:
			return
		case <-c.wake:
		}
		latest := c.Image()
		c.mu.Lock()
		subscribers := append([]*subscriber(nil), c.mu.subscribers...)
		c.mu.Unlock()
		for _, current := range subscribers {
			if current.last != latest {
				current.callback(current.last, latest)
				current.last = latest
			}
		}
		c.markDelivered(latest.AppliedIndex)
	}
}

func (c *Controller) markDelivered(index uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if index > c.mu.delivered {
		c.mu.delivered = index
		close(c.mu.deliveredCh)
		c.mu.deliveredCh = make(chan struct{})
	}
}

// waitDelivered blocks until subscribers have seen the image at index.
func (c *Controller) waitDelivered(ctx context.Context, index uint64) error {
	for {
		c.mu.Lock()
		delivered, changed := c.mu.delivered, c.mu.deliveredCh
		c.mu.Unlock()
		if delivered >= index {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return ErrClosed
		}
	}
}
